from rest_framework import serializers

from learning.models import FineTune, ModelVersion


class ModelVersionSerializer(serializers.ModelSerializer):
    promoted_by = serializers.CharField(source="promoted_by.username", default=None, read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "kind",
            "version",
            "status",
            "is_current",
            "trained_from",
            "figures",
            "created_at",
            "promoted_at",
            "promoted_by",
        ]
        read_only_fields = fields


class FineTuneSerializer(serializers.ModelSerializer):
    base = serializers.CharField(source="base.version", default=None, read_only=True)
    candidate = serializers.CharField(source="candidate.version", default=None, read_only=True)

    class Meta:
        model = FineTune
        fields = [
            "id",
            "kind",
            "status",
            "stage",
            "progress",
            "base",
            "candidate",
            "promoted",
            "figures",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class FineTuneRequestSerializer(serializers.Serializer):
    """Which network to fine-tune, and optional settings of one run; their defaults are
    ml.fine_tune.FineTuneConfig's (digit) or ml.fine_tune_lines.LineFineTuneConfig's (line)."""

    kind = serializers.ChoiceField(choices=ModelVersion.Kind.choices, default=ModelVersion.Kind.DIGIT)
    epochs = serializers.IntegerField(min_value=1, max_value=50, required=False)
    learning_rate = serializers.FloatField(min_value=1e-6, max_value=10.0, required=False)
    replay = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
