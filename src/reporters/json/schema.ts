import { z } from 'zod';

export const JsonReporterOptions = z.strictObject({}).meta({ title: 'json reporter options' });
