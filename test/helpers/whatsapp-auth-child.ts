/**
 * A bot process for the WhatsApp auth-state crash tests (run with `node --import tsx`): opens
 * the auth state on one backend, decrypts a Signal message from the peer with baileys' own
 * signal repository (creating or advancing the session in the store), encrypts a reply, then
 * storms `keys.set` (30 keys of every type per call, the peer's session rewritten in each, creds
 * saved after each) until it is killed. One line per event on stdout (synchronous to a pipe):
 *
 *   decrypted <text>          reply <pkmsg|msg> <base64>          ready          ok <n>
 *
 *   node --import tsx whatsapp-auth-child.ts '<json: { backend, dir | redisUrl+hashKey | pgUrl+schema+namespace, jid, type, ciphertext }>'
 */
import { randomBytes } from 'node:crypto';
import { addTransactionCapability, DEFAULT_CONNECTION_CONFIG, type SignalDataSet } from 'baileys';
import { openAuthState } from '../../adapters/whatsapp/auth-state/auth-state.js';
import { openStore, STORM_KEYS_PER_TYPE, STORM_TYPES, type ChildArgs } from './whatsapp-auth-stores.js';

const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const noop = () => undefined;

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as ChildArgs;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const { store } = openStore(args);
  const auth = await openAuthState(store, { debug: noop, info: noop, warn: (o) => out(`warn ${JSON.stringify(o)}`), error: noop });
  const keys = addTransactionCapability(auth.state.keys, silent as never, { maxCommitRetries: 3, delayBetweenTriesMs: 10 });
  const repo = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: auth.state.creds, keys }, silent as never);
  const plain = await repo.decryptMessage({ jid: args.jid, type: args.type, ciphertext: Buffer.from(args.ciphertext, 'base64') });
  out(`decrypted ${Buffer.from(plain).toString()}`);
  const reply = await repo.encryptMessage({ jid: args.jid, data: Buffer.from(`ack ${Buffer.from(plain).toString()}`) });
  out(`reply ${reply.type} ${Buffer.from(reply.ciphertext).toString('base64')}`);
  await auth.flush();
  out('ready');
  for (let n = 1; ; n++) {
    const session = (await auth.state.keys.get('session', [args.sessionId]))[args.sessionId];
    const data: Record<string, Record<string, unknown>> = {};
    for (const type of STORM_TYPES) {
      data[type] = {};
      for (let i = 0; i < STORM_KEYS_PER_TYPE; i++) data[type]![`storm${i}`] = { n, pad: randomBytes(700).toString('base64') };
    }
    data.session![args.sessionId] = session;
    auth.state.creds.additionalData = { storm: n };
    await Promise.all([auth.state.keys.set(data as SignalDataSet), auth.saveCreds()]);
    out(`ok ${n}`);
  }
}

void main().catch((err: Error) => {
  process.stdout.write(`error ${err.stack ?? err.message}\n`);
  process.exit(1);
});
