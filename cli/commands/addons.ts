import { Command } from 'commander';
import type { Schemas } from '../api/client';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { render, type Column } from '../output';
import { action, print, readMapping } from './common';
import { deadlineOf, settle, waitOf, watch, type WaitOptions } from './settle';

type Addon = Schemas['AddonDto'];
type Rollout = Schemas['AddonRolloutStatusDto'];
type ClusterAddon = Schemas['ClusterAddonDto'];

const ADDON_COLUMNS: Column<Addon>[] = [
  ['NAME', (a) => a.name],
  ['CHART', (a) => a.chart.name],
  ['VERSION', (a) => a.chart.version],
  ['NAMESPACE', (a) => a.namespace],
  ['REQUIRED', (a) => a.required],
  ['MAX-UNAVAILABLE', (a) => a.rollout.maxUnavailable],
  ['MAX-FAILURES', (a) => a.rollout.maxFailures],
  ['STATE', (a) => a.state],
];

type BackendRollout = Rollout['perBackend'][number];
const BACKEND_COLUMNS: Column<BackendRollout>[] = [
  ['BACKEND', (b) => b.backend],
  ['DELIVERY', (b) => b.delivery],
  ['STATE', (b) => b.state],
  ['TOTAL', (b) => b.total],
  ['READY', (b) => b.ready],
  ['FAILED', (b) => b.failed],
  ['PENDING', (b) => b.pending],
  ['MESSAGE', (b) => b.message || null],
];

type FailedCluster = Rollout['failedClusters'][number];
const FAILED_COLUMNS: Column<FailedCluster>[] = [
  ['PROJECT', (f) => f.project],
  ['CLUSTER', (f) => f.cluster],
  ['BACKEND', (f) => f.backend],
  ['VERSION', (f) => f.version],
  ['MESSAGE', (f) => f.message],
];

export const CLUSTER_ADDON_COLUMNS: Column<ClusterAddon>[] = [
  ['ADDON', (a) => a.addon],
  ['REQUIRED', (a) => a.required],
  ['VERSION', (a) => a.version],
  ['STATE', (a) => a.state],
  ['VALUES', (a) => a.values],
  ['MESSAGE', (a) => a.message || null],
];

/** The rollout: a summary line, a row per backend, then the failed clusters with Fleet's message. */
function renderRollout(ctx: CliContext, rollout: Rollout): string {
  const format = ctx.options.output;
  if (format !== 'table') return render(format, rollout, []);
  const summary = `version ${rollout.version} ${rollout.state}: ${rollout.ready}/${rollout.total} ready, ${rollout.failed} failed, ${rollout.pending} pending`;
  const parts = [summary, '', render(format, rollout.perBackend, BACKEND_COLUMNS)];
  if (rollout.failedClusters.length > 0)
    parts.push('', render(format, rollout.failedClusters, FAILED_COLUMNS));
  return parts.join('\n');
}

const failedNames = (rollout: Rollout) =>
  rollout.failedClusters.map((f) => `${f.project}/${f.cluster} (${f.message})`).join('; ');

/**
 * True when called with the same key as the time before. A failure is told only once two reads
 * agree: a cluster's deployment reads failed under a new version for a moment before Fleet's
 * agent applies it (the sync's automatic pause waits for two cycles for the same reason).
 */
function confirmer(): (key: string) => boolean {
  let last: string | null = null;
  return (key) => {
    const same = key === last;
    last = key;
    return same;
  };
}

/**
 * Whether a rollout has ended: completed (the rollout), paused or every cluster reached with some
 * failed in two reads running (exit 1 naming them), else undefined (it goes on).
 */
function rolloutVerdict(): (rollout: Rollout) => Rollout | undefined {
  const confirmed = confirmer();
  return (rollout) => {
    if (rollout.state === 'completed') return rollout;
    const reachedAll = rollout.pending === 0 && rollout.perBackend.every((b) => b.state !== 'pending');
    const failedAll =
      reachedAll && rollout.failed > 0 && confirmed(`${rollout.version} ${failedNames(rollout)}`);
    if (rollout.state === 'paused' || failedAll)
      throw new CliError(
        EXIT.failed,
        `ROLLOUT_${rollout.state === 'paused' ? 'PAUSED' : 'FAILED'}: ${rollout.failed} of ${rollout.total} clusters failed at ${rollout.version}: ${failedNames(rollout)}`,
      );
    return undefined;
  };
}

const rolloutProgress = (r: Rollout) =>
  `${r.version} ${r.state}: ${r.ready}/${r.total} ready, ${r.failed} failed, ${r.pending} pending`;

/** Follows an addon's rollout until it completes (exit 0), fails or pauses (exit 1), or the deadline (exit 3). */
async function followRollout(ctx: CliContext, addon: string, deadline: number): Promise<Rollout> {
  return watch(
    ctx,
    `the rollout of ${addon}`,
    deadline,
    () => ctx.call(ctx.client.GET('/v1/admin/addons/{addon}/rollout', { params: { path: { addon } } })),
    rolloutVerdict(),
    rolloutProgress,
  );
}

interface AddonFlags {
  repo?: string;
  chart?: string;
  version?: string;
  namespace?: string;
  values?: string;
  required?: boolean;
  maxUnavailable?: string;
  maxFailures?: string;
}

/** --max-failures as a whole number; exit 2 naming the flag when it is not one. */
function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CliError(EXIT.usage, `${flag}: '${value}' is not a whole number`);
  return Number(value);
}

/** The rollout settings the flags give, or undefined when they give none. */
function rolloutOf(flags: AddonFlags): Schemas['AddonRolloutDto'] | undefined {
  const maxFailures = count('--max-failures', flags.maxFailures);
  if (flags.maxUnavailable === undefined && maxFailures === undefined) return undefined;
  return {
    ...(flags.maxUnavailable !== undefined ? { maxUnavailable: flags.maxUnavailable } : {}),
    ...(maxFailures !== undefined ? { maxFailures } : {}),
  };
}

const valuesOf = (file: string | undefined) =>
  file === undefined ? undefined : readMapping('values file', file, 'a mapping of Helm values');

const withRolloutFlags = (command: Command) =>
  command
    .option('--values <file>', 'Helm values, YAML or JSON (the addon-wide defaults)')
    .option('--max-unavailable <n|n%>', "clusters updated at once (Fleet's maxUnavailable, e.g. 25%)")
    .option('--max-failures <n>', 'failed clusters tolerated before the rollout pauses');

function catalogCommands(addons: Command): void {
  addons
    .command('list')
    .description('the addon catalog (an admin token)')
    .action(
      action(async (ctx) => {
        const list = await ctx.call(ctx.client.GET('/v1/admin/addons'));
        print(render(ctx.options.output, list.items, ADDON_COLUMNS));
      }),
    );
  addons
    .command('get')
    .description('one addon of the catalog')
    .argument('<addon>', 'addon name')
    .action(
      action(async (ctx, addon: string) => {
        const found = await ctx.call(
          ctx.client.GET('/v1/admin/addons/{addon}', { params: { path: { addon } } }),
        );
        print(render(ctx.options.output, found, ADDON_COLUMNS));
      }),
    );
  withRolloutFlags(
    addons
      .command('create')
      .description(
        "add an addon to the catalog; Paddock checks the chart version in the repository's index " +
          '(exit 2, CHART_VERSION_NOT_FOUND, when it is not listed)',
      )
      .argument('<addon>', 'addon name (also its Helm release name)')
      .requiredOption('--repo <url>', "the Helm repository's http(s) URL, reachable from the clusters")
      .requiredOption('--chart <name>', 'the chart in that repository')
      .requiredOption('--version <version>', 'the chart version (semver)')
      .option('--namespace <namespace>', 'namespace it is installed in on every cluster (default: its name)')
      .option('--required', 'every cluster gets it (default: optional, clusters opt in)'),
  ).action(
    action(async (ctx, addon: string, flags: AddonFlags) => {
      const body: Schemas['CreateAddonDto'] = {
        name: addon,
        chart: { repo: flags.repo!, name: flags.chart!, version: flags.version! },
        namespace: flags.namespace ?? addon,
        required: flags.required === true,
      };
      const values = valuesOf(flags.values);
      if (values) body.values = values;
      const rollout = rolloutOf(flags);
      if (rollout) body.rollout = rollout;
      const created = await ctx.call(ctx.client.POST('/v1/admin/addons', { body }));
      print(render(ctx.options.output, created, ADDON_COLUMNS));
    }),
  );
  withRolloutFlags(
    addons
      .command('update')
      .description(
        'change an addon; a new --version or --values rolls out to every cluster that has it ' +
          '(with --wait: exit 0 once it completed, 1 when it paused or clusters failed)',
      )
      .argument('<addon>', 'addon name')
      .option('--version <version>', 'the new chart version (same repository and chart)')
      .option('--required', 'make it required: every cluster gets it')
      .option('--optional', 'make it optional: only clusters that opt in keep it')
      .option('--wait', 'follow the rollout until it has completed')
      .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3'),
  ).action(
    action(async (ctx, addon: string, flags: AddonFlags & WaitOptions & { optional?: boolean }) => {
      const wait = waitOf(flags);
      if (flags.required && flags.optional)
        throw new CliError(EXIT.usage, 'give at most one of --required, --optional');
      const body: Schemas['UpdateAddonDto'] = {};
      const values = valuesOf(flags.values);
      if (values) body.values = values;
      const rollout = rolloutOf(flags);
      if (rollout) body.rollout = rollout;
      if (flags.required || flags.optional) body.required = flags.required === true;
      if (flags.version !== undefined) {
        // A version alone: the chart's repository and name as the catalog has them.
        const current = await ctx.call(
          ctx.client.GET('/v1/admin/addons/{addon}', { params: { path: { addon } } }),
        );
        body.chart = { ...current.chart, version: flags.version };
      }
      if (Object.keys(body).length === 0)
        throw new CliError(
          EXIT.usage,
          'nothing to change: give --version, --values, --required/--optional, --max-unavailable or --max-failures',
        );
      const updated = await ctx.call(
        ctx.client.PATCH('/v1/admin/addons/{addon}', { params: { path: { addon } }, body }),
      );
      if (!wait.wait) {
        print(render(ctx.options.output, updated, ADDON_COLUMNS));
        return;
      }
      print(renderRollout(ctx, await followRollout(ctx, addon, deadlineOf(wait.timeout))));
    }),
  );
  addons
    .command('delete')
    .description(
      'remove an addon from every cluster, then from the catalog; with --wait, exit once it is gone',
    )
    .argument('<addon>', 'addon name')
    .option('--wait', 'wait until the addon has left every backend and the catalog')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, addon: string, options: WaitOptions) => {
        const wait = waitOf(options);
        const deleting = await ctx.call(
          ctx.client.DELETE('/v1/admin/addons/{addon}', { params: { path: { addon } } }),
        );
        ctx.note(`delete of addon ${addon} accepted; it leaves every cluster, then the catalog`);
        if (wait.wait)
          await watch(
            ctx,
            `addon ${addon} to be deleted`,
            deadlineOf(wait.timeout),
            async () => {
              const { response } = await ctx.client.GET('/v1/admin/addons/{addon}', {
                params: { path: { addon } },
              });
              return response.status;
            },
            (status) => (status === 404 ? true : undefined),
            () => `addon ${addon} still deleting`,
          );
        print(render(ctx.options.output, deleting, ADDON_COLUMNS));
      }),
    );
}

function rolloutCommands(addons: Command): void {
  // `rollout <addon>` reads; `rollout resume <addon>` acts (commander tries the subcommand first).
  const rollout = addons
    .command('rollout')
    .description("where the addon's current version stands, per backend, with the failed clusters")
    .argument('<addon>', 'addon name')
    .action(
      action(async (ctx, addon: string) => {
        const status = await ctx.call(
          ctx.client.GET('/v1/admin/addons/{addon}/rollout', { params: { path: { addon } } }),
        );
        print(renderRollout(ctx, status));
      }),
    );
  rollout
    .command('resume')
    .description(
      'continue a paused rollout (exit 4, ROLLOUT_NOT_PAUSED, when it is not); with --wait, exit 0 once ' +
        'it completed, 1 when every cluster was reached and some failed',
    )
    .argument('<addon>', 'addon name')
    .option('--wait', 'follow the rollout until it has completed')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, addon: string, options: WaitOptions) => {
        const wait = waitOf(options);
        const resumed = await ctx.call(
          ctx.client.POST('/v1/admin/addons/{addon}/rollout/resume', { params: { path: { addon } } }),
        );
        ctx.note(`rollout of ${addon} resumed`);
        print(
          renderRollout(ctx, wait.wait ? await followRollout(ctx, addon, deadlineOf(wait.timeout)) : resumed),
        );
      }),
    );
}

export function addonsCommand(): Command {
  const addons = new Command('addons').description(
    "the addon catalog and its rollouts (an admin token); a cluster's own addons: `clusters addons`",
  );
  catalogCommands(addons);
  rolloutCommands(addons);
  return addons;
}

/** Reads a cluster's addons. */
export const clusterAddons = (ctx: CliContext, project: string, cluster: string) =>
  ctx.call(
    ctx.client.GET('/v1/projects/{project}/clusters/{cluster}/addons', {
      params: { path: { project, cluster } },
    }),
  );

/**
 * Waits until every addon of the cluster reads `installed` (exit 0), one reads `failed` in two
 * reads running (exit 1 naming it and Fleet's message), or the deadline passes (exit 3).
 */
export async function awaitClusterAddons(
  ctx: CliContext,
  project: string,
  cluster: string,
  deadline: number,
): Promise<ClusterAddon[]> {
  const confirmed = confirmer();
  return watch(
    ctx,
    `the addons of ${project}/${cluster}`,
    deadline,
    async () => (await clusterAddons(ctx, project, cluster)).items,
    (items) => {
      const failed = items.find((a) => a.state === 'failed');
      if (failed && confirmed(`${failed.addon} ${failed.version} ${failed.message}`))
        throw new CliError(
          EXIT.failed,
          `ADDON_FAILED: addon ${failed.addon}${failed.version ? ` ${failed.version}` : ''} failed on ${project}/${cluster}: ${failed.message}`,
        );
      return items.every((a) => a.state === 'installed') ? items : undefined;
    },
    (items) => `addons of ${cluster}: ${items.map((a) => `${a.addon} ${a.state}`).join(', ')}`,
  );
}

/** `clusters addons`: a cluster's addons, and its owner's opt-in and opt-out. */
export function clusterAddonsCommand(): Command {
  const project = '-p, --project <project>';
  const projectHelp = 'project (default: PADDOCK_PROJECT, or the only one the token sees)';
  const list = action(async (ctx, cluster: string, options: { project?: string }) => {
    const name = await ctx.project(options.project);
    print(render(ctx.options.output, (await clusterAddons(ctx, name, cluster)).items, CLUSTER_ADDON_COLUMNS));
  });
  // `clusters addons <cluster>` lists; a cluster named like a subcommand is listed with `list`.
  const addons = new Command('addons')
    .description("a cluster's addons as last synced (`list`), opt in (`install`), opt out (`uninstall`)")
    .argument('<cluster>', 'cluster name')
    .option(project, projectHelp)
    .action(list);
  addons
    .command('list')
    .description("the cluster's addons: version, state and Fleet's message")
    .argument('<cluster>', 'cluster name')
    .option(project, projectHelp)
    .action(list);
  addons
    .command('install')
    .description(
      'opt the cluster in to an optional addon; with --wait, exit 0 once it is installed ' +
        '(exit 4, ADDON_REQUIRED, for a required one: every cluster has it)',
    )
    .argument('<cluster>', 'cluster name')
    .argument('<addon>', 'addon name')
    .option(project, projectHelp)
    .option('--values <file>', "Helm values for this cluster only, YAML or JSON, on top of the addon's")
    .option('--wait', 'follow the operation until the addon is installed')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, cluster: string, addon: string, options: WaitOptions & { values?: string }) => {
        const wait = waitOf(options);
        const values = valuesOf(options.values);
        const name = await ctx.project(options.project);
        const accepted = await ctx.call(
          ctx.client.PUT('/v1/projects/{project}/clusters/{cluster}/addons/{addon}', {
            params: { path: { project: name, cluster, addon } },
            body: values ? { values } : {},
          }),
        );
        ctx.note(`install of ${addon} on ${name}/${cluster} accepted; operation ${accepted.id}`);
        await settle(ctx, accepted, wait);
      }),
    );
  addons
    .command('uninstall')
    .description('opt the cluster out of an optional addon; with --wait, exit 0 once it is gone')
    .argument('<cluster>', 'cluster name')
    .argument('<addon>', 'addon name')
    .option(project, projectHelp)
    .option('--wait', 'follow the operation until the addon is gone from the cluster')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, cluster: string, addon: string, options: WaitOptions) => {
        const wait = waitOf(options);
        const name = await ctx.project(options.project);
        const accepted = await ctx.call(
          ctx.client.DELETE('/v1/projects/{project}/clusters/{cluster}/addons/{addon}', {
            params: { path: { project: name, cluster, addon } },
          }),
        );
        ctx.note(`uninstall of ${addon} from ${name}/${cluster} accepted; operation ${accepted.id}`);
        await settle(ctx, accepted, wait);
      }),
    );
  return addons;
}
