/** The adapter conformance suite for Slack, in both modes (one file per platform, so platforms run in parallel). */
import { slackFixture } from '../helpers/slack-fixture.js';
import { adapterContract } from './adapter.contract.js';

adapterContract('slack (http events)', slackFixture('http'));
adapterContract('slack (socket mode)', slackFixture('socket'));
