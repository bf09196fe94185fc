import { z } from 'zod';

export const MarkdownReporterOptions = z.strictObject({}).meta({ title: 'markdown reporter options' });
