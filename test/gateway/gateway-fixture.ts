/** An in-process host + gateway on a free port, from a bots.yaml text; stopped after each test. */
import { afterEach } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/gateway/gateway-server.js';
import { createHost, type Host } from '../../src/host/host.js';
import { createLogger } from '../../src/host/logger.js';
import { TempDirs } from '../helpers/temp-dir.js';

export interface RunningGateway {
  host: Host;
  gateway: Gateway;
  /** ws://127.0.0.1:port */
  ws: string;
  http: string;
  dir: string;
  stop(): Promise<void>;
}

const running = new Set<RunningGateway>();
const temp = new TempDirs();

afterEach(async () => {
  await Promise.all([...running].map((g) => g.stop()));
  await temp.removeAll();
});

/** `yaml` may use `{dir}` for a fresh temporary directory (the same one across restarts when `dir` is passed). */
export async function startGateway(yaml: string, options: { dir?: string; env?: Record<string, string> } = {}): Promise<RunningGateway> {
  const dir = options.dir ?? (await temp.make('gw-'));
  const loaded = parseConfig(yaml.replaceAll('{dir}', dir), { env: options.env ?? {} });
  const logger = createLogger('silent');
  const host = await createHost(loaded.config, { logger, env: options.env ?? {} });
  const gateway = createGateway({ host, logger, port: 0, env: options.env ?? {} });
  await gateway.start();
  let stopped: Promise<void> | undefined;
  const g: RunningGateway = {
    host,
    gateway,
    ws: `ws://127.0.0.1:${gateway.port}`,
    http: `http://127.0.0.1:${gateway.port}`,
    dir,
    stop: () =>
      (stopped ??= (async () => {
        running.delete(g);
        await gateway.stop();
        await host.close();
      })()),
  };
  running.add(g);
  return g;
}

export const BASE_YAML = `
agents: { assistant: { model: echo } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  allow_loopback_without_auth: true
  session: { persist: true, persist_path: "{dir}/gw" }
`;
