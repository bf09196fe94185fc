import { z } from 'zod';

export const AttireReporterOptions = z.strictObject({}).meta({ title: 'attire reporter options' });
