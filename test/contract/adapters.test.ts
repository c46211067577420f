/** The adapter conformance suite, once per platform (each against its own fake server). */
import { discordFixture } from '../helpers/discord-fixture.js';
import { telegramFixture } from '../helpers/telegram-fixture.js';
import { whatsappFixture } from '../helpers/whatsapp-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('telegram', telegramFixture);
adapterContract('whatsapp', whatsappFixture);
adapterContract('discord', discordFixture);
