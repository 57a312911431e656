import { z } from 'zod';

export const AuditEntryView = z.object({
  id: z.uuid(),
  seq: z.string(),
  at: z.iso.datetime(),
  actorId: z.uuid().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export const AuditList = z.object({
  items: z.array(AuditEntryView),
  nextCursor: z.string().nullable(),
});

export const AuditQuery = z.strictObject({
  /** The `seq` of the last entry of the previous page (pages run newest first). */
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const ChainReportView = z.object({
  intact: z.boolean(),
  entries: z.number().int(),
  firstBrokenId: z.uuid().nullable(),
  lastHash: z.string().nullable(),
  /** The head kept outside the table names an entry that is gone: entries were cut from the end. */
  truncated: z.boolean(),
});
