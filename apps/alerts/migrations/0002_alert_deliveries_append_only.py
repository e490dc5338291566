"""alert_deliveries is an audit log: a trigger refuses UPDATE and DELETE (the ORM cannot express this)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION alert_deliveries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'alert_deliveries is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER alert_deliveries_append_only
    BEFORE UPDATE OR DELETE ON alert_deliveries
    FOR EACH ROW EXECUTE FUNCTION alert_deliveries_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS alert_deliveries_append_only ON alert_deliveries;
DROP FUNCTION IF EXISTS alert_deliveries_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
