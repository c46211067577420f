/** The adapter conformance suite for telegram (one file per platform, so platforms run in parallel). */
import { telegramFixture } from '../helpers/telegram-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('telegram', telegramFixture);
