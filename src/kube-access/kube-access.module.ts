import { INestApplication, Module } from '@nestjs/common';
import type { Server } from 'node:http';
import { AuditModule } from '../audit/audit.module';
import { ProjectsModule } from '../projects/projects.module';
import { RancherBackendsModule } from '../rancher-backends/rancher-backends.module';
import { KubeAccessRepository } from './kube-access.repository';
import { KubeAuthenticator } from './kube-authenticator.service';
import { KubeProxyService } from './kube-proxy.service';
import { KubeconfigController } from './kubeconfig.controller';
import { KubeconfigService } from './kubeconfig.service';

/** Kubeconfigs Paddock issues, and the authenticating Kubernetes API proxy they point at. */
@Module({
  imports: [AuditModule, ProjectsModule, RancherBackendsModule],
  controllers: [KubeconfigController],
  providers: [KubeAccessRepository, KubeAuthenticator, KubeconfigService, KubeProxyService],
  exports: [KubeProxyService],
})
export class KubeAccessModule {}

/**
 * Puts the Kubernetes API proxy in front of everything else Express runs, before Nest adds its
 * body parsers and middleware (they are added when the application initialises), so request and
 * response bodies stream through unbuffered; and answers the HTTP server's `upgrade` event, with
 * the same checks, for exec, attach and port-forward.
 */
export function mountKubeProxy(app: INestApplication): void {
  const proxy = app.get(KubeProxyService);
  app.use(proxy.middleware);
  (app.getHttpServer() as Server).on('upgrade', proxy.upgrade);
}
