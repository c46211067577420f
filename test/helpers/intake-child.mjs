// A child process for the intake's multi-process test: like a short `bot chat` run, each round
// opens a FileIntake in `dir`, accepts one turn durably, answers it and closes (close removes the
// directory once it is empty). It imports the COMPILED code (`npm run build` first).
//
//   node intake-child.mjs <dist dir> <intake dir> <name> <rounds>
const [dist, dir, name, rounds] = process.argv.slice(2);
const { FileIntake } = await import(`${dist}/src/queue/intake-log.js`);
const { createProcessLock } = await import(`${dist}/src/sessions/process-lock.js`);
for (let round = 0; round < Number(rounds); round++) {
  const intake = new FileIntake({ dir, lock: createProcessLock() });
  const id = `${name}-${round}`;
  const request = { sessionId: `s-${id}`, agent: 'a', inbound: { platform: 't', botId: 'bot', chatId: 'c', userId: 'u', messageId: id, text: 'x', isDirect: true, mentionsBot: true, receivedAt: 1 } };
  await intake.accept(request).durable;
  intake.done(request);
  await intake.close();
}
