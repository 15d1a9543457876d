/**
 * Where oompa's own files are, and its version: a leaf module (it imports
 * nothing of ours), so config, harness, engine and cli all ask it rather than
 * each working the package layout out from its own `import.meta.url`.
 *
 * This file is `src/paths.ts` under vitest and `dist/paths.js` when built (and
 * so in an installed package): the package root, holding package.json,
 * `config/` and `dist/`, is one folder up either way.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The folder holding oompa's package.json. */
export const packageRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** oompa's version, from its package.json. */
export const version: string = (createRequire(import.meta.url)(path.join(packageRoot, "package.json")) as { version: string }).version

/** The prompts shipped with oompa (`config/prompts/`). */
export const bundledPromptsDir: string = path.join(packageRoot, "config", "prompts")

/** The mock scenarios shipped with oompa (`config/scenarios/`), used by `mock:<name>` models. */
export const bundledScenariosDir: string = path.join(packageRoot, "config", "scenarios")

/** The mock agent as an executable script (built: `dist/mock-agent.js`). */
export const mockAgentScript: string = path.join(packageRoot, "dist", "mock-agent.js")

/** The dashboard's static page (`ui/`: index.html, app.js, style.css), shipped in the package. */
export const dashboardAssetsDir: string = path.join(packageRoot, "ui")

/**
 * The live views' fold compiled (`dist/domain/swarmView.js`): it has no
 * imports, so the dashboard page loads this very file and folds events with
 * the same code as the terminal.
 */
export const swarmViewScript: string = path.join(packageRoot, "dist", "domain", "swarmView.js")
