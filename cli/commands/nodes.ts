import { Command } from 'commander';
import { action } from './common';
import { settle, waitOf, type WaitOptions } from './settle';

export function nodesCommand(): Command {
  const nodes = new Command('nodes').description("a cluster's nodes: replace a broken one");
  nodes
    .command('replace')
    .description(
      'delete a pool node on the backend and let its pool make a new one; with --wait, exit 0 once ' +
        'the pool is back at its quantity with every node active (exit 2, WOULD_LOSE_QUORUM, when it ' +
        'would cost etcd quorum or the last healthy controlplane node; exit 4 while another operation runs)',
    )
    .argument('<cluster>', 'cluster name')
    .argument('<node>', 'the node: its hostname as the node list shows it, or its id')
    .option('-p, --project <project>', 'project (default: PADDOCK_PROJECT, or the only one the token sees)')
    .option('--wait', 'follow the operation until it has ended')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, cluster: string, node: string, options: WaitOptions) => {
        const wait = waitOf(options);
        const project = await ctx.project(options.project);
        const accepted = await ctx.call(
          ctx.client.DELETE('/v1/projects/{project}/clusters/{cluster}/nodes/{node}', {
            params: { path: { project, cluster, node } },
          }),
        );
        ctx.note(`replacement of ${node} in ${project}/${cluster} accepted; operation ${accepted.id}`);
        await settle(ctx, accepted, wait);
      }),
    );
  return nodes;
}
