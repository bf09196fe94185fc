import { z } from 'zod';

/** TLS for a SIEM's API: a lab CA, or (labs only, and the report says so) no verification at all. */
export const TlsOptions = z
  .strictObject({
    caFile: z
      .string()
      .optional()
      .meta({ description: 'PEM file of the CA that signed the SIEM certificate.' }),
    insecure: z
      .boolean()
      .default(false)
      .meta({ description: 'Skip certificate verification. Lab use only; every report shows a warning.' }),
  })
  .default({ insecure: false });
export type TlsOptions = z.infer<typeof TlsOptions>;
