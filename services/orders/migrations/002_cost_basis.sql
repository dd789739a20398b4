-- The exact cost basis (signed sum of the notionals of the fills that opened what is held);
-- the average cost is derived from it. Existing rows take the product they used to show.
ALTER TABLE positions ADD COLUMN cost_basis NUMERIC(38, 9);
UPDATE positions SET cost_basis = round(quantity_raw::numeric * avg_cost_raw / 1e18, 9);
ALTER TABLE positions ALTER COLUMN cost_basis SET NOT NULL;
