import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alliance_platform_storage', '0004_upgrade_from_reference_schema'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Labels only (translated in the admin): no change to the database.
    operations = [
        migrations.AlterModelOptions(
            name='asynctempfile',
            options={'verbose_name': 'async temporary file', 'verbose_name_plural': 'async temporary files'},
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='contended',
            field=models.BooleanField(default=False, verbose_name='contended'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='content_type',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='content type'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='declared_size',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='declared size'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='error',
            field=models.TextField(blank=True, default='', verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='field_id',
            field=models.CharField(max_length=300, verbose_name='field'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='key',
            field=models.CharField(max_length=1000, unique=True, verbose_name='key'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='lease expires at'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='lease_token',
            field=models.CharField(blank=True, default='', max_length=32, verbose_name='lease token'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='moved_to_location',
            field=models.CharField(blank=True, default='', max_length=1000, verbose_name='promoted to'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='object_id',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='record'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='original_filename',
            field=models.CharField(max_length=1000, verbose_name='original file name'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='planned_for',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='planned for record'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='session_fingerprint',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='session fingerprint'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='upload_id',
            field=models.CharField(blank=True, default='', max_length=1024, verbose_name='multipart upload ID'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='uploaded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='uploaded by'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='verified_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='verified at'),
        ),
        migrations.AlterField(
            model_name='asynctempfile',
            name='verified_version',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='verified version'),
        ),
    ]
