from django.db import migrations

from alliance_platform.storage.reference_upgrade import convert_reference_table


class Migration(migrations.Migration):
    """Where alliance-platform-storage 0.0.5 migrated the database, replace its table with ours and convert its
    rows (see ``alliance_platform.storage.reference_upgrade``). Elsewhere it does nothing."""

    dependencies = [
        ('alliance_platform_storage', '0003_claims_and_pinning'),
    ]

    operations = [
        migrations.RunPython(convert_reference_table, migrations.RunPython.noop),
    ]
