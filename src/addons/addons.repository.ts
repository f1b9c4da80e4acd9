import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { UnitOfWork } from '../database/unit-of-work';
import type { AddonDeliveryKind } from '../rancher-backends/backend-driver';
import type { AddonRecord, DeliveryRecord, DeliveryState, NewAddon } from './addon.types';

interface AddonRow {
  id: string;
  name: string;
  chart_repo: string;
  chart_name: string;
  chart_version: string;
  namespace: string;
  values: Record<string, unknown>;
  required: boolean;
  max_unavailable: string;
  max_failures: number;
  generation: number;
  paused: boolean;
  resumed_generation: number | null;
  deleting: boolean;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  addon_id: string;
  backend_id: string;
  backend_name: string;
  kind: AddonDeliveryKind | null;
  state: DeliveryState;
  message: string;
  applied_generation: number;
  desired_ready: number;
  ready: number;
  failed: number;
  waiting: number;
  synced_at: Date | null;
}

const toAddon = (r: AddonRow): AddonRecord => ({
  id: r.id,
  name: r.name,
  chart: { repo: r.chart_repo, name: r.chart_name, version: r.chart_version },
  namespace: r.namespace,
  values: r.values,
  required: r.required,
  maxUnavailable: r.max_unavailable,
  maxFailures: r.max_failures,
  generation: r.generation,
  paused: r.paused,
  resumedGeneration: r.resumed_generation,
  deleting: r.deleting,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  addonId: r.addon_id,
  backendId: r.backend_id,
  backendName: r.backend_name,
  kind: r.kind,
  state: r.state,
  message: r.message,
  appliedGeneration: r.applied_generation,
  desiredReady: r.desired_ready,
  ready: r.ready,
  failed: r.failed,
  waiting: r.waiting,
  syncedAt: r.synced_at,
});

/** The `addons` and `addon_deliveries` tables: the catalog and each addon's delivery to each backend. */
@Injectable()
export class AddonsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  // ------------------------------------------------------------------ the catalog

  /** Null when an addon of that name exists. */
  async insert(addon: NewAddon): Promise<AddonRecord | null> {
    try {
      const rows: AddonRow[] = await this.uow.manager.query(
        `INSERT INTO addons (name, chart_repo, chart_name, chart_version, namespace, "values", required,
                             max_unavailable, max_failures)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          addon.name,
          addon.chart.repo,
          addon.chart.name,
          addon.chart.version,
          addon.namespace,
          JSON.stringify(addon.values),
          addon.required,
          addon.maxUnavailable,
          addon.maxFailures,
        ],
      );
      return toAddon(rows[0]);
    } catch (error) {
      if (isUniqueViolation(error, 'addons_name_key')) return null;
      throw error;
    }
  }

  async findByName(name: string): Promise<AddonRecord | null> {
    const rows: AddonRow[] = await this.uow.manager.query(`SELECT * FROM addons WHERE name = $1`, [name]);
    return rows[0] ? toAddon(rows[0]) : null;
  }

  async findById(id: string): Promise<AddonRecord | null> {
    const rows: AddonRow[] = await this.uow.manager.query(`SELECT * FROM addons WHERE id = $1`, [id]);
    return rows[0] ? toAddon(rows[0]) : null;
  }

  /** The whole catalog (a few dozen addons at most), by name. */
  async list(): Promise<AddonRecord[]> {
    const rows: AddonRow[] = await this.uow.manager.query(`SELECT * FROM addons ORDER BY name`);
    return rows.map(toAddon);
  }

  /**
   * Writes the new definition and bumps the generation: every backend's Fleet object is then
   * behind and gets one update. A new version or values also ends a pause (it supersedes the
   * rollout that paused).
   */
  async update(id: string, next: NewAddon): Promise<AddonRecord | null> {
    // TypeORM answers an UPDATE with `[rows, rowCount]`, not the rows.
    const [rows]: [AddonRow[], number] = await this.uow.manager.query(
      `UPDATE addons SET chart_repo = $2, chart_name = $3, chart_version = $4::varchar, namespace = $5, "values" = $6::jsonb,
              required = $7, max_unavailable = $8, max_failures = $9, generation = generation + 1,
              paused = CASE WHEN chart_version <> $4::varchar OR "values" <> $6::jsonb THEN false ELSE paused END,
              updated_at = now()
       WHERE id = $1 AND NOT deleting RETURNING *`,
      [
        id,
        next.chart.repo,
        next.chart.name,
        next.chart.version,
        next.namespace,
        JSON.stringify(next.values),
        next.required,
        next.maxUnavailable,
        next.maxFailures,
      ],
    );
    return rows[0] ? toAddon(rows[0]) : null;
  }

  /** Something every backend's object must carry changed (per-cluster values): one more generation. */
  async bumpGeneration(id: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE addons SET generation = generation + 1, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  async markDeleting(id: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE addons SET deleting = true, generation = generation + 1, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  /**
   * Pauses the rollout (true when it was running), unless a resume holds the automatic pause off
   * for this generation.
   */
  async pauseAutomatically(id: string, generation: number): Promise<boolean> {
    // Only at the generation whose failures were counted: a change that landed since supersedes them.
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE addons SET paused = true, generation = generation + 1, updated_at = now()
       WHERE id = $1 AND generation = $2 AND NOT paused AND NOT deleting
         AND resumed_generation IS DISTINCT FROM generation
       RETURNING id`,
      [id, generation],
    );
    return rows.length > 0;
  }

  /** Resumes a paused rollout; the automatic pause stays off until the addon changes again. */
  async resume(id: string): Promise<AddonRecord | null> {
    const [rows]: [AddonRow[], number] = await this.uow.manager.query(
      `UPDATE addons SET paused = false, generation = generation + 1, resumed_generation = generation + 1,
              updated_at = now()
       WHERE id = $1 AND NOT deleting RETURNING *`,
      [id],
    );
    return rows[0] ? toAddon(rows[0]) : null;
  }

  /** A deleted addon's row goes once no backend holds its Fleet object any more. */
  async deleteIfDelivered(id: string): Promise<void> {
    await this.uow.manager.query(
      `DELETE FROM addons a WHERE a.id = $1 AND a.deleting
         AND NOT EXISTS (SELECT 1 FROM addon_deliveries d WHERE d.addon_id = a.id)`,
      [id],
    );
  }

  // ------------------------------------------------------------------ deliveries (one per backend)

  /** Every addon gets a delivery row on the backend (an addon deleted meanwhile gets none). */
  async ensureDeliveries(backendId: string): Promise<void> {
    await this.uow.manager.query(
      `INSERT INTO addon_deliveries (addon_id, backend_id)
       SELECT id, $1 FROM addons WHERE NOT deleting
       ON CONFLICT DO NOTHING`,
      [backendId],
    );
  }

  async deliveriesOn(backendId: string): Promise<DeliveryRecord[]> {
    const rows: DeliveryRow[] = await this.uow.manager.query(
      `SELECT d.*, b.name AS backend_name FROM addon_deliveries d JOIN backends b ON b.id = d.backend_id
       WHERE d.backend_id = $1`,
      [backendId],
    );
    return rows.map(toDelivery);
  }

  async deliveriesOf(addonId: string): Promise<DeliveryRecord[]> {
    const rows: DeliveryRow[] = await this.uow.manager.query(
      `SELECT d.*, b.name AS backend_name FROM addon_deliveries d JOIN backends b ON b.id = d.backend_id
       WHERE d.addon_id = $1 ORDER BY b.name`,
      [addonId],
    );
    return rows.map(toDelivery);
  }

  /** The object carries `generation` (never moves back: a slower writer of an older one loses). */
  async recordApplied(addonId: string, backendId: string, kind: AddonDeliveryKind, generation: number) {
    await this.uow.manager.query(
      `UPDATE addon_deliveries SET kind = $3, state = 'applied', message = '',
              applied_generation = GREATEST(applied_generation, $4)
       WHERE addon_id = $1 AND backend_id = $2`,
      [addonId, backendId, kind, generation],
    );
  }

  /** The generation the addon's object on the backend carries (0: none written yet). */
  async appliedGeneration(addonId: string, backendId: string): Promise<number> {
    const rows: Array<{ applied_generation: number }> = await this.uow.manager.query(
      `SELECT applied_generation FROM addon_deliveries WHERE addon_id = $1 AND backend_id = $2`,
      [addonId, backendId],
    );
    return rows[0]?.applied_generation ?? 0;
  }

  async recordDeliveryProblem(
    addonId: string,
    backendId: string,
    state: 'unsupported' | 'error',
    message: string,
  ): Promise<void> {
    await this.uow.manager.query(
      `UPDATE addon_deliveries SET state = $3, message = $4 WHERE addon_id = $1 AND backend_id = $2`,
      [addonId, backendId, state, message],
    );
  }

  async recordCounts(
    addonId: string,
    backendId: string,
    counts: { desiredReady: number; ready: number; failed: number; waiting: number },
  ): Promise<void> {
    await this.uow.manager.query(
      `UPDATE addon_deliveries SET desired_ready = $3, ready = $4, failed = $5, waiting = $6, synced_at = now()
       WHERE addon_id = $1 AND backend_id = $2`,
      [addonId, backendId, counts.desiredReady, counts.ready, counts.failed, counts.waiting],
    );
  }

  async deleteDelivery(addonId: string, backendId: string): Promise<void> {
    await this.uow.manager.query(`DELETE FROM addon_deliveries WHERE addon_id = $1 AND backend_id = $2`, [
      addonId,
      backendId,
    ]);
  }

  /** The backend's kind of delivery as last found (null: not known yet, or none). */
  async backendDeliveryState(backendId: string): Promise<DeliveryState | null> {
    const rows: Array<{ state: DeliveryState }> = await this.uow.manager.query(
      `SELECT state FROM addon_deliveries WHERE backend_id = $1 AND state IN ('applied', 'unsupported') LIMIT 1`,
      [backendId],
    );
    return rows[0]?.state ?? null;
  }
}
