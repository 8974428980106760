import { readFileSync } from 'node:fs'

/**
 * The kernel's boot id (Linux: `/proc/sys/kernel/random/boot_id`), or null
 * where there is none. Equal boot ids mean the OS (and its page cache) has
 * not restarted in between. Reads one small file synchronously; never throws.
 */
export function readBootId(): string | null {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return id.length > 0 ? id : null
  } catch {
    return null
  }
}
