// Locates the .proto definitions, which ship as source beside the compiled output (dist/src/xds -> src/xds/proto).
import path from 'node:path';
import fs from 'node:fs';

function findProtoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'src', 'xds', 'proto');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find src/xds/proto above ${__dirname}; is the ambit checkout complete?`);
}

/** Absolute path of the directory holding ambit's .proto files. */
export const PROTO_ROOT = findProtoRoot();
