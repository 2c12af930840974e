// Query strings exactly as Payload's own REST client (@payloadcms/sdk 3.90,
// src/utilities/buildSearchParams.ts) builds them: qs bracket syntax from qs-esm, every value a
// string, sort lists joined by commas, empty arrays kept (`where[status][in][]`).
import { stringify } from 'qs-esm'

/**
 * @param {Record<string, any>} [args] find/findById/count options
 * @returns {string} '' or '?…'
 */
export const buildSearchParams = (args = {}) => {
  const search = {}
  if (typeof args.depth === 'number') search.depth = String(args.depth)
  if (typeof args.page === 'number') search.page = String(args.page)
  if (typeof args.limit === 'number') search.limit = String(args.limit)
  if (typeof args.draft === 'boolean') search.draft = String(args.draft)
  if (typeof args.trash === 'boolean') search.trash = String(args.trash)
  if (typeof args.pagination === 'boolean') search.pagination = String(args.pagination)
  if (args.fallbackLocale) search['fallback-locale'] = String(args.fallbackLocale)
  if (args.locale) search.locale = args.locale
  if (args.sort) search.sort = Array.isArray(args.sort) ? args.sort.join(',') : args.sort
  if (args.select) search.select = args.select
  if (args.where) search.where = args.where
  if (args.populate) search.populate = args.populate
  if (args.joins) search.joins = args.joins
  if (Object.keys(search).length === 0) return ''
  return stringify(search, { addQueryPrefix: true, allowEmptyArrays: true })
}
