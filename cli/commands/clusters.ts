import { Command } from 'commander';
import type { Cluster, Schemas } from '../api/client';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { follow, requireOutcome } from '../follow';
import { render, type Column } from '../output';
import { action, print, readMapping, seconds, wholeSeconds, writeKubeconfig } from './common';
import { awaitClusterAddons, clusterAddonsCommand } from './addons';
import { deadlineOf, settle, waitOf, type WaitOptions } from './settle';

const CLUSTER_COLUMNS: Column<Cluster>[] = [
  ['NAME', (c) => c.name],
  ['STATE', (c) => c.state],
  ['VERSION', (c) => c.kubernetesVersion],
  ['REGION', (c) => c.region],
  ['NODES', (c) => c.nodePools.reduce((sum, p) => sum + p.quantity, 0)],
  ['EXPIRES', (c) => c.expiresAt],
  ['OPERATION', (c) => c.activeOperationId],
];

/** The spec file as the API's create body; exit 2 when it is not a YAML or JSON mapping. */
const readSpec = (file: string) => readMapping('cluster spec', file, 'a mapping with name and nodePools');

interface CreateOptions {
  project?: string;
  file: string;
  name?: string;
  ttl?: string;
  expiresAt?: string;
  wait?: boolean;
  waitAddons?: boolean;
  timeout?: string;
  kubeconfigOut?: string;
  kubeconfigTtl?: string;
}

async function create(ctx: CliContext, options: CreateOptions): Promise<void> {
  const spec = readSpec(options.file);
  const ttl = seconds('--ttl', options.ttl);
  // One deadline for the whole wait: the operation, then the addons.
  const deadline = deadlineOf(seconds('--timeout', options.timeout));
  const kubeconfigTtl = seconds('--kubeconfig-ttl', options.kubeconfigTtl);
  if (options.name) spec.name = options.name;
  if (ttl !== null) spec.ttlSeconds = wholeSeconds(ttl);
  if (options.expiresAt) spec.expiresAt = options.expiresAt;
  const project = await ctx.project(options.project);
  const accepted = await ctx.call(
    ctx.client.POST('/v1/projects/{project}/clusters', {
      params: { path: { project } },
      body: spec as unknown as Schemas['CreateClusterDto'],
    }),
  );
  const name = accepted.cluster.name;
  ctx.note(`cluster ${project}/${name} accepted; operation ${accepted.operation.id}`);
  if (!options.wait && !options.waitAddons && !options.kubeconfigOut) {
    print(render(ctx.options.output, accepted.cluster, CLUSTER_COLUMNS));
    return;
  }
  requireOutcome(await follow(ctx, accepted.operation.id, secondsLeft(deadline)));
  if (options.waitAddons) {
    const addons = await awaitClusterAddons(ctx, project, name, deadline);
    ctx.note(
      addons.length === 0
        ? `${project}/${name} has no addons to wait for`
        : `addons installed: ${addons.map((a) => `${a.addon} ${a.version}`).join(', ')}`,
    );
  }
  const cluster = await ctx.call(
    ctx.client.GET('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project, cluster: name } },
    }),
  );
  if (options.kubeconfigOut) await writeKubeconfig(ctx, project, name, options.kubeconfigOut, kubeconfigTtl);
  print(render(ctx.options.output, cluster, CLUSTER_COLUMNS));
}

export function clustersCommand(): Command {
  const clusters = new Command('clusters').description(
    'create, list, read, expire, upgrade and delete clusters',
  );
  clusters
    .command('create')
    .description('create a cluster from a spec file; with --wait, exit once it is active (or failed)')
    .option('-p, --project <project>', 'project (default: PADDOCK_PROJECT, or the only one the token sees)')
    .requiredOption('-f, --file <file>', 'cluster spec, YAML or JSON: the API create body')
    .option('--name <name>', "the cluster's name, instead of the spec's")
    .option('--ttl <duration>', 'delete the cluster by itself this long after creation, e.g. 4h')
    .option('--expires-at <date-time>', 'delete the cluster by itself at this ISO 8601 date-time')
    .option('--wait', 'follow the operation until the cluster is active')
    .option(
      '--wait-addons',
      'after the cluster is active, also wait until each of its addons reads installed ' +
        '(exit 1 naming the addon when one fails; implies --wait; --timeout covers both)',
    )
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3 (e.g. 30m)')
    .option('--kubeconfig-out <file>', 'once active, write a kubeconfig here, mode 0600 (implies --wait)')
    .option('--kubeconfig-ttl <duration>', "the kubeconfig credential's life (default: the API's, 8h)")
    .action(action(create));
  clusters
    .command('list')
    .description("the project's clusters")
    .option('-p, --project <project>', 'project')
    .option('--state <state>', 'only clusters in this state')
    .action(
      action(async (ctx, options: { project?: string; state?: string }) => {
        const project = await ctx.project(options.project);
        const items: Cluster[] = [];
        let cursor: string | undefined;
        do {
          const page = await ctx.call(
            ctx.client.GET('/v1/projects/{project}/clusters', {
              params: {
                path: { project },
                query: { limit: 500, cursor, state: options.state as Cluster['state'] | undefined },
              },
            }),
          );
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        print(render(ctx.options.output, items, CLUSTER_COLUMNS));
      }),
    );
  clusters
    .command('get')
    .description('one cluster with its pools, as last synced')
    .argument('<cluster>', 'cluster name')
    .option('-p, --project <project>', 'project')
    .action(
      action(async (ctx, cluster: string, options: { project?: string }) => {
        const project = await ctx.project(options.project);
        const found = await ctx.call(
          ctx.client.GET('/v1/projects/{project}/clusters/{cluster}', {
            params: { path: { project, cluster } },
          }),
        );
        print(render(ctx.options.output, found, CLUSTER_COLUMNS));
      }),
    );
  clusters
    .command('delete')
    .description('delete a cluster; with --wait, exit once it is gone')
    .argument('<cluster>', 'cluster name')
    .option('-p, --project <project>', 'project')
    .option('--wait', 'follow the operation until the cluster is deleted')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, cluster: string, options: WaitOptions) => {
        const wait = waitOf(options);
        const project = await ctx.project(options.project);
        const op = await ctx.call(
          ctx.client.DELETE('/v1/projects/{project}/clusters/{cluster}', {
            params: { path: { project, cluster } },
          }),
        );
        ctx.note(`delete of ${project}/${cluster} accepted; operation ${op.id}`);
        await settle(ctx, op, wait);
      }),
    );
  clusters
    .command('expire')
    .description('set or clear when Paddock deletes the cluster by itself')
    .argument('<cluster>', 'cluster name')
    .option('-p, --project <project>', 'project')
    .option('--ttl <duration>', 'from now, e.g. 2h')
    .option('--at <date-time>', 'at this ISO 8601 date-time')
    .option('--never', 'clear the expiry')
    .action(
      action(
        async (
          ctx,
          cluster: string,
          options: { project?: string; ttl?: string; at?: string; never?: boolean },
        ) => {
          const given = [options.ttl, options.at, options.never].filter((v) => v !== undefined).length;
          if (given !== 1) throw new CliError(EXIT.usage, 'give exactly one of --ttl, --at, --never');
          const ttl = seconds('--ttl', options.ttl);
          const expiresAt = options.never
            ? null
            : ttl !== null
              ? new Date(Date.now() + ttl * 1000).toISOString()
              : (options.at as string);
          const project = await ctx.project(options.project);
          const updated = await ctx.call(
            ctx.client.PATCH('/v1/projects/{project}/clusters/{cluster}', {
              params: { path: { project, cluster } },
              body: { expiresAt },
            }),
          );
          // An expiry alone starts no operation: the answer is the cluster.
          if (isOperation(updated)) throw new CliError(EXIT.failed, 'Paddock answered with an operation');
          print(render(ctx.options.output, updated, CLUSTER_COLUMNS));
        },
      ),
    );
  clusters
    .command('upgrade')
    .description("upgrade a cluster's Kubernetes, one minor version at a time; with --wait, exit once done")
    .argument('<cluster>', 'cluster name')
    .requiredOption('--version <version>', 'v1.32.5, or v1.32 for the newest patch on offer')
    .option('-p, --project <project>', 'project')
    .option('--wait', 'follow the operation until the cluster runs the new version')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, cluster: string, options: WaitOptions & { version: string }) => {
        const wait = waitOf(options);
        const project = await ctx.project(options.project);
        const answer = await ctx.call(
          ctx.client.PATCH('/v1/projects/{project}/clusters/{cluster}', {
            params: { path: { project, cluster } },
            body: { kubernetesVersion: options.version },
          }),
        );
        // The version it runs already: nothing to do, the cluster as it is.
        if (!isOperation(answer)) {
          ctx.note(`${project}/${cluster} runs ${answer.kubernetesVersion} already`);
          print(render(ctx.options.output, answer, CLUSTER_COLUMNS));
          return;
        }
        ctx.note(`upgrade of ${project}/${cluster} accepted; operation ${answer.id}`);
        await settle(ctx, answer, wait);
      }),
    );
  clusters.addCommand(clusterAddonsCommand());
  return clusters;
}

/** Whole seconds until the deadline, at least 1 (null: no deadline). */
const secondsLeft = (deadline: number) =>
  deadline === Infinity ? null : Math.max(1, Math.ceil((deadline - Date.now()) / 1000));

/** A PATCH answers with the cluster (no operation started) or with the upgrade's operation. */
function isOperation(answer: Cluster | Schemas['OperationDto']): answer is Schemas['OperationDto'] {
  return 'steps' in answer;
}
