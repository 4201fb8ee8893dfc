import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError, dataErrorFromJson } from './errors.js';
import { runSampleTaskSafely, type SampleResponse, type SampleResult, type SampleTask } from './sample-task.js';

interface Job {
  id: number;
  task: SampleTask;
  resolve: (result: SampleResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

/** Where the compiled worker entry lives: next to this module in dist/, or ../dist/ when running from src/. */
export function defaultWorkerUrl(): URL {
  const candidates = [new URL('./worker.js', import.meta.url), new URL('../dist/worker.js', import.meta.url)];
  for (const candidate of candidates) if (existsSync(fileURLToPath(candidate))) return candidate;
  throw new DataError(
    'bad-argument',
    fileURLToPath(candidates[0]),
    'the @mim/data worker script is missing — build the package (npx tsup) or pass workers: 0',
  );
}

/**
 * A fixed set of worker_threads running SampleTasks. With size 0 tasks run inline on the calling thread.
 * A worker that dies rejects its task with a DataError naming the file and is replaced.
 */
export class WorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private readonly workerUrl: URL | undefined;

  constructor(size: number, workerUrl?: URL) {
    this.size = Math.max(0, Math.floor(size));
    this.workerUrl = this.size > 0 ? (workerUrl ?? defaultWorkerUrl()) : undefined;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl!);
    const slot: Slot = { worker };
    worker.unref();
    worker.on('message', (message: { id: number; response: SampleResponse }) => {
      const job = slot.job;
      if (!job || job.id !== message.id) return;
      slot.job = undefined;
      worker.unref();
      if (message.response.ok) job.resolve(message.response.result);
      else job.reject(dataErrorFromJson(message.response.error));
      this.pump();
    });
    const fail = (reason: string) => {
      const job = slot.job;
      slot.job = undefined;
      const index = this.slots.indexOf(slot);
      if (index >= 0 && !this.closed) this.slots[index] = this.spawn();
      if (job)
        job.reject(new DataError('worker-crashed', job.task.image, `the worker processing this file died: ${reason}`));
      this.pump();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) fail(`exit code ${code}`);
    });
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
  }

  /** Run a task (in a worker, or inline when size is 0). Rejects with a DataError naming the file. */
  run(task: SampleTask): Promise<SampleResult> {
    if (this.closed) return Promise.reject(new DataError('bad-argument', task.image, 'the worker pool is closed'));
    if (this.size === 0) {
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          const response = runSampleTaskSafely(task);
          if (response.ok) resolve(response.result);
          else reject(dataErrorFromJson(response.error));
        });
      });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.pump();
    });
  }

  /** Stop all workers; queued and running tasks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = [...this.queue, ...this.slots.flatMap((s) => (s.job ? [s.job] : []))];
    this.queue.length = 0;
    for (const job of pending) job.reject(new DataError('bad-argument', job.task.image, 'the worker pool was closed'));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
