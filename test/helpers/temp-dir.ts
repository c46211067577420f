/** Temporary directories for tests: created under os.tmpdir(), removed by `removeAll()` in afterEach. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class TempDirs {
  private readonly dirs: string[] = [];

  async make(prefix = 'bothost-test-'): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async removeAll(): Promise<void> {
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map((d) => fsp.rm(d, { recursive: true, force: true })));
  }
}

/** Every path (files and directories) under `root`, relative to it, sorted. */
export async function listRecursive(root: string): Promise<string[]> {
  const entries = await fsp.readdir(root, { recursive: true });
  return entries.map(String).sort();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
