import { Command } from 'commander';
import type { Schemas } from '../api/client';
import { follow, requireOutcome } from '../follow';
import { render, type Column } from '../output';
import { action, print, seconds, writeKubeconfig } from './common';

type Quota = Schemas['QuotaDto'];
const QUOTA_COLUMNS: Column<Quota>[] = [
  ['PROJECT', (q) => q.project],
  ['CLUSTERS', (q) => `${q.clusters.used}+${q.clusters.reserved}/${q.clusters.limit}`],
  ['NODES', (q) => `${q.nodes.used}+${q.nodes.reserved}/${q.nodes.limit}`],
  ['MAX LIFETIME', (q) => (q.maxClusterLifetimeSeconds === null ? null : `${q.maxClusterLifetimeSeconds}s`)],
];

/** `kubeconfig`, `quota` and `pools scale`: the smaller commands. */
export function accessCommands(): Command[] {
  const kubeconfig = new Command('kubeconfig')
    .description("a kubeconfig for the cluster (through Paddock's proxy, with a credential of its own)")
    .argument('<cluster>', 'cluster name')
    .option('-p, --project <project>', 'project')
    .option('--out <file>', 'write it here (mode 0600) instead of stdout')
    .option('--ttl <duration>', "the credential's life (default: the API's, 8h)")
    .action(
      action(async (ctx, cluster: string, options: { project?: string; out?: string; ttl?: string }) => {
        const ttl = seconds('--ttl', options.ttl);
        const project = await ctx.project(options.project);
        if (options.out) return writeKubeconfig(ctx, project, cluster, options.out, ttl);
        const yaml = await ctx.call(
          ctx.client.GET('/v1/projects/{project}/clusters/{cluster}/kubeconfig', {
            params: {
              path: { project, cluster },
              query: ttl === null ? {} : { ttlSeconds: Math.round(ttl) },
            },
            parseAs: 'text',
          }),
        );
        process.stdout.write(yaml);
      }),
    );
  const quota = new Command('quota')
    .description("the project's limits, usage (+reserved) and maximum cluster lifetime")
    .option('-p, --project <project>', 'project')
    .action(
      action(async (ctx, options: { project?: string }) => {
        const project = await ctx.project(options.project);
        const found = await ctx.call(
          ctx.client.GET('/v1/projects/{project}/quota', { params: { path: { project } } }),
        );
        print(render(ctx.options.output, found, QUOTA_COLUMNS));
      }),
    );
  const pools = new Command('pools').description('node pools');
  pools
    .command('scale')
    .description('set the number of nodes of a pool')
    .argument('<cluster>', 'cluster name')
    .argument('<pool>', 'pool name')
    .requiredOption('--quantity <n>', 'the new number of nodes', (v) => Number(v))
    .option('-p, --project <project>', 'project')
    .option('--wait', 'follow the operation until the pool has its nodes')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(
        async (
          ctx,
          cluster: string,
          pool: string,
          options: { project?: string; quantity: number; wait?: boolean; timeout?: string },
        ) => {
          const timeout = seconds('--timeout', options.timeout);
          const project = await ctx.project(options.project);
          const op = await ctx.call(
            ctx.client.PATCH('/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}', {
              params: { path: { project, cluster, pool } },
              body: { quantity: options.quantity },
            }),
          );
          ctx.note(`scale of ${project}/${cluster}/${pool} accepted; operation ${op.id}`);
          const final = options.wait ? await follow(ctx, op.id, timeout) : op;
          if (options.wait) requireOutcome(final);
          print(
            render(ctx.options.output, final, [
              ['OPERATION', (o) => o.id],
              ['STATE', (o) => o.state],
            ]),
          );
        },
      ),
    );
  return [kubeconfig, quota, pools];
}
