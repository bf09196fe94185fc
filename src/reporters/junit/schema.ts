import { z } from 'zod';

export const JunitReporterOptions = z.strictObject({}).meta({ title: 'junit reporter options' });
