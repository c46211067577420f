/** The hierarchy contract over FileSessionStore: real files, fsync'd, in a temporary directory. */
import { hierarchyContract } from '../contract/hierarchy.contract.js';
import { openContractFileStore } from '../helpers/file-store-fixture.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();

hierarchyContract(
  'FileSessionStore',
  // cleanup checks the store logged no warning: the hierarchy never makes it repair anything.
  ({ maxMessages }) => openContractFileStore(tmp, 'bothost-hierarchy-', maxMessages),
  { sequences: 40 },
);
