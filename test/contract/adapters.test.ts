/** The adapter conformance suite, once per platform (each against its own fake server). */
import { slackFixture } from '../helpers/slack-fixture.js';
import { telegramFixture } from '../helpers/telegram-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('telegram', telegramFixture);
adapterContract('slack (http events)', slackFixture('http'));
adapterContract('slack (socket mode)', slackFixture('socket'));
