/** The adapter conformance suite, once per platform (each against its own fake server). */
import { telegramFixture } from '../helpers/telegram-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('telegram', telegramFixture);
