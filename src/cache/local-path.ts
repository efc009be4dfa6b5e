import { parseStorageUri } from "../storage/open.ts";

/** The local folder a Storage URI names, or undefined for anything else (s3://, in-memory test stores). */
export function localPathOf(uri: string): string | undefined {
  try {
    const loc = parseStorageUri(uri);
    return loc.kind === "local" ? loc.path : undefined;
  } catch {
    return undefined;
  }
}
