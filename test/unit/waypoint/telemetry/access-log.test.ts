// The access log's batching destination: lines are written whole, in order, by size, by timer, on flush and on close; the time field matches pino's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import { BatchedLineWriter, createAccessLogger, isoTimeField } from '../../../../src/waypoint/telemetry/access-log';

function tempFile(t: { teardown(fn: () => void): void }): { file: string; fd: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-access-log-'));
  const file = path.join(dir, 'access.log');
  const fd = fs.openSync(file, 'a');
  t.teardown(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { file, fd };
}

t.test('lines wait for a full batch, then go out together and in order', async (t) => {
  const { file, fd } = tempFile(t);
  const writer = new BatchedLineWriter(fd, { batchChars: 30, flushMs: 0 });
  t.teardown(() => writer.close());
  writer.write('one 456789\n');
  writer.write('two 456789\n');
  t.equal(fs.readFileSync(file, 'utf8'), '', 'below the batch size nothing is written');
  t.equal(writer.pendingChars, 22);
  writer.write('three 789\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'one 456789\ntwo 456789\nthree 789\n', 'the batch is written once full');
  t.equal(writer.pendingChars, 0);
  writer.write('four ü\n');
  writer.flush();
  t.equal(fs.readFileSync(file, 'utf8'), 'one 456789\ntwo 456789\nthree 789\nfour ü\n', 'flush writes what waits, multi-byte characters whole');
});

t.test('a quiet log still shows its lines within the flush interval', async (t) => {
  const { file, fd } = tempFile(t);
  const writer = new BatchedLineWriter(fd, { flushMs: 20 });
  t.teardown(() => writer.close());
  writer.write('lonely\n');
  const deadline = Date.now() + 2_000;
  while (fs.readFileSync(file, 'utf8') === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(fs.readFileSync(file, 'utf8'), 'lonely\n');
});

t.test('close flushes and drops later lines', async (t) => {
  const { file, fd } = tempFile(t);
  const writer = new BatchedLineWriter(fd, { flushMs: 0 });
  writer.write('last\n');
  writer.close();
  writer.write('too late\n');
  writer.flush();
  t.equal(fs.readFileSync(file, 'utf8'), 'last\n');
});

t.test('the cached time field is the one pino writes', async (t) => {
  const field = isoTimeField();
  t.match(field, /^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
  t.equal(field.length, pino.stdTimeFunctions.isoTime().length);
  t.equal(isoTimeField(), isoTimeField());
});

t.test('access lines carry the same fields as the process logger gave them', async (t) => {
  const { file, fd } = tempFile(t);
  const { logger, writer } = createAccessLogger(fd, 'bookinfo/waypoint', { flushMs: 0 });
  t.teardown(() => writer.close());
  logger.info({ requestId: 'r1', responseCode: 200 }, 'request');
  writer.flush();
  const line = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.match(line, { level: 30, component: 'waypoint', waypoint: 'bookinfo/waypoint', target: 'access', requestId: 'r1', responseCode: 200, msg: 'request' });
  t.equal(typeof line.time, 'string');
  t.same(Object.keys(line).slice(0, 5), ['level', 'time', 'component', 'waypoint', 'target'], 'in the same order');
});
