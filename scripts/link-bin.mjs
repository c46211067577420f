// Links this project's own `bot` into node_modules/.bin, so `npx bot …` in a checkout runs the
// local build at once. (npm links the bins of dependencies only; for the project's own bin, npx
// would otherwise install the project into its cache and build it again: 10–30 s of silence.)
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const binDir = path.join('node_modules', '.bin');
if (existsSync('node_modules')) {
  mkdirSync(binDir, { recursive: true });
  const link = path.join(binDir, 'bot');
  rmSync(link, { force: true });
  symlinkSync(path.join('..', '..', 'dist', 'src', 'cli', 'main.js'), link);
}
