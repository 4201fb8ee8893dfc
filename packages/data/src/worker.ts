import { parentPort } from 'node:worker_threads';
import { runSampleTaskSafely, type SampleTask, transferList } from './sample-task.js';

/** Worker entry point: answers `{ id, task }` messages with `{ id, response }`. */
if (parentPort) {
  const port = parentPort;
  port.on('message', (message: { id: number; task: SampleTask }) => {
    const response = runSampleTaskSafely(message.task);
    port.postMessage({ id: message.id, response }, response.ok ? transferList(response.result) : []);
  });
}
