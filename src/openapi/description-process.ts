import { enableCompileCache } from 'node:module';
import { answerParent, childInput } from './synchronous-child.ts';

/**
 * The child process of compile-openapi.ts: prepares one description (prepared-description.ts)
 * and answers with the result, or with the error that stopped it. The description, every file
 * it references and the loader's state live and die with this process.
 */

interface DescriptionRequest {
  readonly path: string;
  readonly options: import('./prepared-description.ts').PrepareOptions;
}

export type DescriptionAnswer =
  | { readonly prepared: import('./prepared-description.ts').PreparedDescription }
  | { readonly failure: { readonly where: string | null; readonly message: string } };

// As src/cli/main.js does: the modules below (the loader library most of all) are compiled once, not on every start.
enableCompileCache();
// stdout carries the answer: whatever a library logs goes to stderr instead.
for (const method of ['log', 'info', 'debug', 'warn'] as const) console[method] = console.error;

async function answer(request: DescriptionRequest): Promise<DescriptionAnswer> {
  // Loaded here, so that even a failure to load the code is an answer.
  const { prepareDescription } = await import('./prepared-description.ts');
  const { OpenApiError } = await import('./document-set.ts');
  try {
    return { prepared: await prepareDescription(request.path, request.options) };
  } catch (error) {
    if (error instanceof OpenApiError) return { failure: { where: error.where, message: error.message.slice(error.where.length + 2) } };
    throw error;
  }
}

try {
  answerParent(await answer(childInput() as DescriptionRequest));
} catch (error) {
  answerParent({ failure: { where: null, message: (error as Error).stack ?? String(error) } });
}
