/**
 * The errors of the Hub client. Each names the file or URL and the value that was refused, so a user can tell a
 * broken mirror from a broken network from a broken cache. All extend {@link HubError}.
 */

/** A Hub download that failed: the message says what to do about it. */
export class HubError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'HubError';
  }
}

/** The Hub (or the cache, offline) says this file does not exist in the repository at that revision. */
export class HubFileNotFoundError extends HubError {
  constructor(readonly repoId: string, readonly file: string, readonly revision: string) {
    super(`${file} not found in ${repoId} at revision ${revision}`, 404);
    this.name = 'HubFileNotFoundError';
  }
}

/** A repository id, file path or revision that is not one (checked before it becomes a path or a URL). */
export class HubArgumentError extends HubError {
  constructor(readonly argument: 'repoId' | 'file' | 'revision', readonly value: unknown, expected: string) {
    super(`${argument} ${JSON.stringify(value)} is not ${expected}`);
    this.name = 'HubArgumentError';
  }
}

/** `HF_ENDPOINT` (or the `endpoint` option) is not an http(s) URL. */
export class HubEndpointError extends HubError {
  constructor(readonly variable: string, readonly value: string) {
    super(`${variable} ${JSON.stringify(value)} is not an http(s) URL (expected e.g. https://huggingface.co or http://127.0.0.1:8080)`);
    this.name = 'HubEndpointError';
  }
}

/** The server answered with an HTTP status the client cannot use. */
export class HubResponseError extends HubError {
  constructor(readonly url: string, status: number, statusText: string, what = '') {
    super(`${url}: HTTP ${status} ${statusText}${what}`, status);
    this.name = 'HubResponseError';
  }
}

/**
 * The server's answer does not look like a Hugging Face Hub's: no commit, or an ETag that is not a hex hash (a
 * 64-digit sha256 for LFS files, a 40-digit git blob sha1 for the others). Such an ETag would be used as a file name
 * in the cache and could not be verified, so it is refused.
 */
export class HubMetadataError extends HubError {
  constructor(readonly url: string, readonly header: string, readonly value: string | null, why: string) {
    super(`${url}: ${header} ${JSON.stringify(value)} ${why}`);
    this.name = 'HubMetadataError';
  }
}

/** A redirect the client will not follow (https → http, http to another origin, not a URL, too many). */
export class HubRedirectError extends HubError {
  constructor(readonly url: string, readonly location: string, why: string) {
    super(`${url} redirects to ${JSON.stringify(location)}: refused, ${why}`);
    this.name = 'HubRedirectError';
  }
}

/** A file larger than the limit for its kind (JSON files: 8 MiB), announced or as it arrives. */
export class HubFileTooLargeError extends HubError {
  constructor(readonly file: string, readonly url: string, readonly limit: number, readonly size: number, announced: boolean) {
    super(
      `${file} from ${url}: ${announced ? `the server announces ${size} bytes` : `more than ${limit} bytes arrived (${size} so far)`}, ` +
        `over the ${limit}-byte limit for this kind of file; download refused`,
    );
    this.name = 'HubFileTooLargeError';
  }
}

/** A download whose average rate stayed under the minimum for the whole window (a drip, not a slow link). */
export class HubSlowDownloadError extends HubError {
  constructor(readonly file: string, readonly url: string, readonly bytesPerSecond: number, minBytesPerSecond: number, windowMs: number, have: number) {
    super(
      `download of ${file} from ${url} abandoned: ${bytesPerSecond.toFixed(0)} bytes/s over the last ${windowMs / 1000} s, under ` +
        `the minimum of ${minBytesPerSecond} bytes/s; ${have} bytes are kept, run again to resume from there`,
    );
    this.name = 'HubSlowDownloadError';
  }
}

/** A downloaded file whose size or hash is not what the Hub announced; the file was deleted. */
export class HubIntegrityError extends HubError {
  constructor(readonly repoId: string, readonly file: string, readonly what: string) {
    super(`the download of ${repoId}/${file} is corrupted: ${what}; the file was deleted, run again to download it afresh`);
    this.name = 'HubIntegrityError';
  }
}

/** A repository file the client reads (model_index.json) that does not hold what it must. */
export class HubRepoFileError extends HubError {
  constructor(readonly repoId: string, readonly file: string, what: string) {
    super(`${repoId}/${file}: ${what}`);
    this.name = 'HubRepoFileError';
  }
}
