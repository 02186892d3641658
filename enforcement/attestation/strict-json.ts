// JSON read with no room for two readings: a document that names one key twice in an object is
// refused, because parsers disagree on which copy wins (JSON.parse keeps the last, others the
// first), and a signed statement or a template must mean one thing to every reader.
// RFC 8259, section 4: "The names within an object SHOULD be unique."

/** The input is not JSON, or not JSON with one meaning. */
export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

/** Deeper nesting than any template or statement of ours reaches is refused (and stays off the stack's limit). */
export const MAX_JSON_DEPTH = 128;

/**
 * Parses `text` as JSON (JSON.parse builds the value) after a scan that refuses a key repeated
 * in one object and nesting deeper than `maxDepth`. `what` names the document in messages.
 */
export function parseStrictJson(text: string, what: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StrictJsonError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
  new Scanner(text, what, maxDepth).document();
  return value;
}

/** Finds token boundaries in text JSON.parse already accepted; checks keys and depth only. */
class Scanner {
  private at = 0;
  private readonly text: string;
  private readonly what: string;
  private readonly maxDepth: number;

  constructor(text: string, what: string, maxDepth: number) {
    this.text = text;
    this.what = what;
    this.maxDepth = maxDepth;
  }

  document(): void {
    this.value(0, '$');
  }

  private value(depth: number, path: string): void {
    this.space();
    const c = this.text[this.at];
    if (c === '{' || c === '[') {
      if (depth >= this.maxDepth) throw new StrictJsonError(`${this.what} nests deeper than ${this.maxDepth} levels (at ${path})`);
      if (c === '{') this.object(depth + 1, path);
      else this.array(depth + 1, path);
    } else if (c === '"') {
      this.string();
    } else {
      while (this.at < this.text.length && /[-+0-9.eEtruefalsn]/.test(this.text[this.at]!)) this.at++;
    }
  }

  private object(depth: number, path: string): void {
    this.at++; // {
    const keys = new Set<string>();
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return;
    }
    for (;;) {
      this.space();
      const key = JSON.parse(this.text.slice(this.at, this.string())) as string;
      const keyPath = `${path}.${key}`;
      if (keys.has(key)) throw new StrictJsonError(`${this.what} names the key ${JSON.stringify(key)} twice in one object (at ${keyPath}): refused, readers disagree on which copy counts`);
      keys.add(key);
      this.space();
      this.at++; // :
      this.value(depth, keyPath);
      this.space();
      if (this.text[this.at++] === '}') return; // else ,
    }
  }

  private array(depth: number, path: string): void {
    this.at++; // [
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return;
    }
    for (let index = 0; ; index++) {
      this.value(depth, `${path}[${index}]`);
      this.space();
      if (this.text[this.at++] === ']') return; // else ,
    }
  }

  /** Skips a string token starting at its opening quote; returns the index after its closing quote. */
  private string(): number {
    this.at++;
    while (this.text[this.at] !== '"') this.at += this.text[this.at] === '\\' ? 2 : 1;
    return ++this.at;
  }

  private space(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at]!)) this.at++;
  }
}
