/**
 * Every answer that is not a 2xx: the HTTP status and the API's `errors` array
 * (`[{ message, name?, data? }]`); `message` is the first error's message.
 */
export class ApiError extends Error {
  /**
   * @param {{ status: number, errors: Array<{message: string, name?: string, data?: any}>,
   *   response?: Response }} details
   */
  constructor({ status, errors, response }) {
    super(errors[0]?.message ?? `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.errors = errors
    Object.defineProperty(this, 'response', { value: response, enumerable: false })
  }
}
