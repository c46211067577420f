/**
 * The adapter conformance suite's view of Slack: the fake Slack, in HTTP mode (signed event
 * POSTs, retried by the fake like Slack when not answered 2xx) or in Socket Mode (envelopes,
 * redelivered when not acknowledged). A group mention is delivered as Slack does: both as
 * `message` and as `app_mention`.
 */
import { createServer } from 'node:net';
import type { FixtureEvent, PlatformFixture, PostedMessage } from '../contract/platform-fixture.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from './fake-slack-server.js';

interface SlackEvent extends FixtureEvent {
  channel: string;
  ts: string;
  /** The event bodies delivered (message, and app_mention for a mention). */
  bodies: Record<string, any>[];
  /** HTTP: statuses of every attempt; Socket Mode: the envelope ids. */
  statuses: number[];
  envelopes: string[];
  retries: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function slackFixture(mode: 'http' | 'socket'): () => PlatformFixture {
  return () => {
    let fake: FakeSlack | undefined;
    let port = 0;
    const api = () => {
      if (!fake) throw new Error('the fake Slack is not started');
      return fake;
    };
    const target = () => `http://127.0.0.1:${port}/slack/events`;

    function send(event: SlackEvent, body: Record<string, any>, retryNum: number): Promise<void> {
      if (mode === 'socket') {
        event.envelopes.push(api().socket.send(body, 'events_api', { retryAttempt: retryNum }));
        return Promise.resolve();
      }
      // Resolves after the first attempt; Slack's retries go on in the background.
      return new Promise((resolve) => {
        void api()
          .deliver(target(), body, { retryNum, retryDelaysMs: [700, 1500, 3000, 5000], onAttempt: (a) => (event.statuses.push(a.status), resolve()) })
          .then(() => resolve());
      });
    }

    async function say(user: string, channel: string, text: string): Promise<SlackEvent> {
      const said = api().userSays({ user, channel, text });
      const event: SlackEvent = { messageId: `${channel}:${said.ts}`, conversation: channel, channel, ts: said.ts, bodies: [said.message, ...(said.mention ? [said.mention] : [])], statuses: [], envelopes: [], retries: 0 };
      await Promise.all(event.bodies.map((b) => send(event, b, 0)));
      return event;
    }

    return {
      platform: 'slack',
      ready: /slack bot @testbot running/,
      async start() {
        fake = await startFakeSlack();
        fake.socket.ackDeadlineMs = 1_000;
        port = await freePort();
      },
      async close() {
        await fake?.close();
        fake = undefined;
      },
      entry: () => ({
        api_url: api().apiUrl,
        mode,
        ...(mode === 'http' ? { http: { host: '127.0.0.1', port } } : {}),
        stream_edit_interval_ms: 150,
        workspace_edit_interval_ms: 150,
      }),
      env: () => ({ SLACK_BOT_TOKEN: FAKE_SLACK.botToken, SLACK_SIGNING_SECRET: FAKE_SLACK.signingSecret, SLACK_APP_TOKEN: FAKE_SLACK.appToken }),
      secrets: () => [FAKE_SLACK.botToken, FAKE_SLACK.signingSecret, FAKE_SLACK.appToken],
      user: (n) => `UCONF${String(n).padStart(4, '0')}`,
      direct: (user, text) => say(user, `D${user.slice(1)}`, text),
      group: (user, text, { mention }) => say(user, 'CCONFORM1', mention ? `<@${FAKE_SLACK.botUserId}> ${text}` : text),
      async redeliver(fixtureEvent) {
        const event = fixtureEvent as SlackEvent;
        event.retries++;
        await send(event, event.bodies[0]!, event.retries);
      },
      acked(fixtureEvent) {
        const event = fixtureEvent as SlackEvent;
        if (mode === 'http') return event.statuses.some((s) => s >= 200 && s < 300);
        return event.envelopes.some((id) => api().socket.envelopes.get(id)?.ackedAt !== undefined);
      },
      posted(fixtureEvent): PostedMessage[] {
        const event = fixtureEvent as SlackEvent;
        // Channel replies go into the message's thread; DM replies stay top level.
        return api()
          .botMessages(event.channel)
          .filter((m) => (event.channel.startsWith('C') ? m.thread_ts === event.ts : true))
          .map((m) => ({ text: m.text, postedAt: m.postedAt, editedAt: [...m.editedAt] }));
      },
      typing: (fixtureEvent) => {
        const event = fixtureEvent as SlackEvent;
        return api()
          .callsOf('reactions.add')
          .filter((c) => c.params.channel === event.channel && c.params.timestamp === event.ts)
          .map((c) => c.at);
      },
      wellFormed: (text) => (text.match(/```/g) ?? []).length % 2 === 0,
      length: (text) => text.length,
    };
  };
}
