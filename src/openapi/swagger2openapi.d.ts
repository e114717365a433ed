/** The part of swagger2openapi (no types of its own) that description-loader.ts uses. */
declare module 'swagger2openapi' {
  interface ConvertOptions {
    /** Fix small, common errors of Swagger 2.0 descriptions instead of failing. */
    patch?: boolean;
    /** Report what cannot be fixed as warnings instead of failing. */
    warnOnly?: boolean;
    /** Follow external references itself (off: the description is bundled first, and nothing is fetched). */
    resolve?: boolean;
  }
  interface ConvertResult {
    openapi: Record<string, unknown>;
  }
  const converter: { convertObj(swagger: object, options: ConvertOptions): Promise<ConvertResult> };
  export default converter;
}
