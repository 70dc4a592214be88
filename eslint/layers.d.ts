export declare const layers: Array<{ name: string; folders: string[] }>;
export declare function placeOf(srcRoot: string, file: string): { folder: string; rank: number; layer: string } | null;
export declare const layersPlugin: { rules: Record<string, unknown> };
