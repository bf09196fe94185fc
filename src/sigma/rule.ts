import { z } from 'zod';

/** A Sigma rule as far as our engine reads it. Unknown top-level keys are allowed (Sigma has many). */
export const SigmaRule = z.looseObject({
  title: z.string().min(1),
  id: z.string().min(1),
  name: z.string().optional(),
  status: z.string().optional(),
  description: z.string().optional(),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']),
  tags: z.array(z.string()).default([]),
  logsource: z.looseObject({
    product: z.string().optional(),
    category: z.string().optional(),
    service: z.string().optional(),
  }),
  detection: z.record(z.string(), z.unknown()).refine((d) => 'condition' in d, 'detection needs a condition'),
});
export type SigmaRule = z.infer<typeof SigmaRule>;
