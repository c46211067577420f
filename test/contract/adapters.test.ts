/** The adapter conformance suite, once per platform (each against its own fake server). */
import { slackFixture } from '../helpers/slack-fixture.js';
import { telegramFixture } from '../helpers/telegram-fixture.js';
import { adapterContract } from './adapter.contract.js';
import { discordFixture } from '../helpers/discord-fixture.js';

adapterContract('telegram', telegramFixture);
adapterContract('discord', discordFixture);
adapterContract('slack (http events)', slackFixture('http'));
adapterContract('slack (socket mode)', slackFixture('socket'));
