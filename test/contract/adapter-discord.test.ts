/** The adapter conformance suite for discord (one file per platform, so platforms run in parallel). */
import { discordFixture } from '../helpers/discord-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('discord', discordFixture);
