// One shard of a sharded build, run in a worker thread: load the trained
// template, add the batches it is sent, write the shard file when told.
import { parentPort, workerData } from 'node:worker_threads';
import { IndexIVFPQ } from './index-ivfpq';

export type ShardRequest =
  | { kind: 'add'; vectors: Float32Array; ids: BigInt64Array }
  | { kind: 'finish' };

export type ShardReply = { kind: 'added'; count: number } | { kind: 'written'; path: string; ntotal: number } | { kind: 'failed'; message: string; name: string; code?: string };

interface ShardWorkerData {
  templatePath: string;
  shardPath: string;
  threads: number;
}

const { templatePath, shardPath, threads } = workerData as ShardWorkerData;
const port = parentPort!;
// A shard is only added to and written: it needs no L2 search table.
const indexReady = IndexIVFPQ.read(templatePath, { precomputeTable: false });

port.on('message', (request: ShardRequest) => {
  void (async () => {
    try {
      const index = await indexReady;
      if (request.kind === 'add') {
        await index.addWithIds(request.vectors, request.ids, { threads });
        port.postMessage({ kind: 'added', count: request.ids.length } satisfies ShardReply);
      } else {
        await index.write(shardPath);
        port.postMessage({ kind: 'written', path: shardPath, ntotal: index.ntotal } satisfies ShardReply);
        index.dispose();
      }
    } catch (error) {
      const { message, name, code } = error as Error & { code?: string };
      port.postMessage({ kind: 'failed', message, name, code } satisfies ShardReply);
    }
  })();
});
