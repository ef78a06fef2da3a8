// Shared data (key/value with CAS) and shared queues, global per vm_id across every VM in the process,
// as proxy-wasm-cpp-host's SharedData/SharedQueue singletons. A vm_id's data lives while at least one
// VM with that vm_id is alive (acquire/release), so closed gateways do not leak into later ones.
// Owns the tables only; delivering on_queue_ready is the registrant's job.

import { WasmResult } from "./abi/constants";

export interface QueueRegistrant {
  /** Posts proxy_on_queue_ready(root, token) on the registrant's worker (asynchronously). */
  notifyQueueReady(rootContextId: number, token: number): void;
}

interface QueueEntry {
  vmId: string;
  name: string;
  items: Buffer[];
  registrant: QueueRegistrant;
  rootContextId: number;
}

export class SharedStore {
  private readonly data = new Map<string, Map<string, { value: Buffer; cas: number }>>();
  private readonly refs = new Map<string, number>();
  private cas = 0;
  private readonly queues = new Map<number, QueueEntry>();
  private readonly queueTokens = new Map<string, number>();
  private nextQueueToken = 1;

  acquire(vmId: string): void {
    this.refs.set(vmId, (this.refs.get(vmId) ?? 0) + 1);
  }

  /** Drops the vm_id's data and queues once the last VM with that vm_id is gone. */
  release(vmId: string): void {
    const n = (this.refs.get(vmId) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(vmId, n);
      return;
    }
    this.refs.delete(vmId);
    this.data.delete(vmId);
    for (const [token, q] of this.queues) {
      if (q.vmId === vmId) {
        this.queues.delete(token);
        this.queueTokens.delete(queueKey(vmId, q.name));
      }
    }
  }

  /** One process-wide CAS counter, starting at 1 and never 0. */
  private nextCas(): number {
    this.cas = (this.cas + 1) >>> 0;
    if (this.cas === 0) this.cas = 1;
    return this.cas;
  }

  get(vmId: string, key: string): { value: Buffer; cas: number } | undefined {
    return this.data.get(vmId)?.get(key);
  }

  set(vmId: string, key: string, value: Buffer, cas: number): number {
    let table = this.data.get(vmId);
    if (!table) {
      table = new Map();
      this.data.set(vmId, table);
    }
    const cur = table.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return WasmResult.CasMismatch;
    table.set(key, { value: Buffer.from(value), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Re-registering keeps the token and pending items but moves delivery to the caller. */
  registerQueue(vmId: string, name: string, registrant: QueueRegistrant, rootContextId: number): number {
    const key = queueKey(vmId, name);
    const existing = this.queueTokens.get(key);
    if (existing !== undefined) {
      const q = this.queues.get(existing) as QueueEntry;
      q.registrant = registrant;
      q.rootContextId = rootContextId;
      return existing;
    }
    let token = this.nextQueueToken++;
    if (token === 0) token = this.nextQueueToken++;
    this.queueTokens.set(key, token);
    this.queues.set(token, { vmId, name, items: [], registrant, rootContextId });
    return token;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueTokens.get(queueKey(vmId, name));
  }

  enqueue(token: number, data: Buffer): number {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(Buffer.from(data));
    q.registrant.notifyQueueReady(q.rootContextId, token);
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: number; data?: Buffer } {
    const q = this.queues.get(token);
    if (!q) return { result: WasmResult.NotFound };
    const data = q.items.shift();
    if (data === undefined) return { result: WasmResult.Empty };
    return { result: WasmResult.Ok, data };
  }
}

function queueKey(vmId: string, name: string): string {
  return `${vmId}\u0000${name}`;
}

/** The process-wide store (Envoy keeps one per process). */
export const sharedStore = new SharedStore();
