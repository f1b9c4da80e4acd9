import { Command } from 'commander';
import type { Schemas } from '../api/client';
import { render, type Column } from '../output';
import { action, print } from './common';
import { settle, waitOf, type WaitOptions } from './settle';

type Backup = Schemas['BackupDto'];

const BACKUP_COLUMNS: Column<Backup>[] = [
  ['NAME', (b) => b.name],
  ['CREATED', (b) => b.createdAt],
  ['STATE', (b) => b.state],
  ['KIND', (b) => b.kind],
  ['VERSION', (b) => b.kubernetesVersion],
  ['SIZE', (b) => b.size],
  ['MESSAGE', (b) => b.message || null],
];

export function backupsCommand(): Command {
  const backups = new Command('backups').description("a cluster's etcd backups: list, take one now, restore");
  const withWait = (command: Command) =>
    command
      .option('-p, --project <project>', 'project (default: PADDOCK_PROJECT, or the only one the token sees)')
      .option('--wait', 'follow the operation until it has ended')
      .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3');
  backups
    .command('list')
    .description("the cluster's backups as last synced, newest first; the bucket and schedule on stderr")
    .argument('<cluster>', 'cluster name')
    .option('-p, --project <project>', 'project')
    .action(
      action(async (ctx, cluster: string, options: { project?: string }) => {
        const project = await ctx.project(options.project);
        const list = await ctx.call(
          ctx.client.GET('/v1/projects/{project}/clusters/{cluster}/backups', {
            params: { path: { project, cluster } },
          }),
        );
        if (list.schedule)
          ctx.note(
            `bucket ${list.bucket}; every ${list.schedule.intervalHours}h, ${list.schedule.retention} kept`,
          );
        print(render(ctx.options.output, list.items, BACKUP_COLUMNS));
      }),
    );
  withWait(
    backups
      .command('create')
      .description('take a backup now; with --wait, exit 0 once the backend reports it active')
      .argument('<cluster>', 'cluster name'),
  ).action(
    action(async (ctx, cluster: string, options: WaitOptions) => {
      const wait = waitOf(options);
      const project = await ctx.project(options.project);
      const accepted = await ctx.call(
        ctx.client.POST('/v1/projects/{project}/clusters/{cluster}/backups', {
          params: { path: { project, cluster } },
        }),
      );
      ctx.note(`backup of ${project}/${cluster} accepted; operation ${accepted.id}`);
      await settle(ctx, accepted, wait);
    }),
  );
  withWait(
    backups
      .command('restore')
      .description("restore the cluster's etcd from one of its backups; with --wait, exit 0 once restored")
      .argument('<cluster>', 'cluster name')
      .argument('<backup>', "the backup's name, as `backups list` shows it")
      .option('--restore-kubernetes-version', 'also go back to the Kubernetes version of the backup'),
  ).action(
    action(
      async (
        ctx,
        cluster: string,
        backup: string,
        options: WaitOptions & { restoreKubernetesVersion?: boolean },
      ) => {
        const wait = waitOf(options);
        const project = await ctx.project(options.project);
        const accepted = await ctx.call(
          ctx.client.POST('/v1/projects/{project}/clusters/{cluster}/backups/{backup}/restore', {
            params: { path: { project, cluster, backup } },
            body: { restoreKubernetesVersion: options.restoreKubernetesVersion === true },
          }),
        );
        ctx.note(`restore of ${project}/${cluster} from ${backup} accepted; operation ${accepted.id}`);
        await settle(ctx, accepted, wait);
      },
    ),
  );
  return backups;
}
