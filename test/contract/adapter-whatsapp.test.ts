/** The adapter conformance suite for whatsapp (one file per platform, so platforms run in parallel). */
import { whatsappFixture } from '../helpers/whatsapp-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('whatsapp', whatsappFixture);
