export interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  os?: string[];
  cpu?: string[];
}
export interface Lock {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}
export const LICENSE_ALLOWLIST: ReadonlySet<string>;
export function licenseAllowed(expression: string): boolean;
export function lockfileViolations(lock: Lock, isInstalled?: (path: string) => boolean): string[];
export function licenseViolations(lock: Lock, isInstalled?: (path: string) => boolean): string[];
