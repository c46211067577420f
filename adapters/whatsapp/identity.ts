/**
 * One canonical user id per person, whether WhatsApp addresses them by phone number (PN JID) or
 * by LID: the phone digits (`4915112345678`) when the number is known, else `lid:<digits>`.
 *
 * Resolution order for a sender JID: a PN JID is its digits; a LID takes the PN the message
 * itself carries (`remoteJidAlt` / `participantAlt`), else the LID→PN mapping in the auth state
 * (baileys' `lid-mapping` keys: `<pn user>` → lid user, `<lid user>_reverse` → pn user), else
 * stays a LID. Every pair learnt from a message is written to that mapping, so it is remembered
 * across restarts and shared with baileys' own encryption routing.
 */
import type { SignalKeyStore } from 'baileys';
import { isLidUser, isPnUser, userOf } from './jid.js';

const CACHE_LIMIT = 10_000;

export class IdentityResolver {
  private readonly pnOfLid = new Map<string, string>();

  constructor(private readonly keys: Pick<SignalKeyStore, 'get' | 'set'>) {}

  /** The canonical user id of `jid` (alt: the other addressing of the same sender, if known). */
  async canonical(jid: string, alt?: string | null): Promise<string> {
    if (isPnUser(jid)) {
      if (alt && isLidUser(alt)) await this.remember(userOf(alt)!, userOf(jid)!);
      return userOf(jid)!;
    }
    if (!isLidUser(jid)) return jid;
    const lid = userOf(jid)!;
    if (alt && isPnUser(alt)) {
      const pn = userOf(alt)!;
      await this.remember(lid, pn);
      return pn;
    }
    const pn = await this.lookup(lid);
    return pn ?? `lid:${lid}`;
  }

  /** The phone digits of a LID user, if known. */
  async lookup(lid: string): Promise<string | undefined> {
    const cached = this.pnOfLid.get(lid);
    if (cached) return cached;
    const found = await this.keys.get('lid-mapping', [`${lid}_reverse`]);
    const pn = found[`${lid}_reverse`];
    if (typeof pn === 'string' && /^\d+$/.test(pn)) {
      this.cache(lid, pn);
      return pn;
    }
    return undefined;
  }

  private async remember(lid: string, pn: string): Promise<void> {
    if (this.pnOfLid.get(lid) === pn) return;
    this.cache(lid, pn);
    await this.keys.set({ 'lid-mapping': { [pn]: lid, [`${lid}_reverse`]: pn } });
  }

  private cache(lid: string, pn: string): void {
    if (this.pnOfLid.size >= CACHE_LIMIT) this.pnOfLid.delete(this.pnOfLid.keys().next().value!);
    this.pnOfLid.set(lid, pn);
  }
}
