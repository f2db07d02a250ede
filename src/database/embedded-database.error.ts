/**
 * A problem with the embedded database that a person has to fix: an old data
 * directory, a path the server's OS user cannot reach, missing binaries, a
 * directory held by another process. The message says what to do; retrying
 * does not help, so nothing retries it, and it carries no stack trace, which
 * would only make a start that failed this way look like a crash.
 */
export class EmbeddedDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    this.stack = `${this.name}: ${message}`;
  }
}
