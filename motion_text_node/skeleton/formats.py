"""Skeleton formats that live pose sources and datasets publish, and how each maps onto the canonical body.

A mapping gives, for every canonical joint, a list of alternatives tried in order; an alternative is a dict
``{source joint name: weight}`` whose weighted sum is the canonical joint (a single name with weight 1 is a
direct copy). The first alternative whose sources are all present and observed wins, per frame. Canonical joints
with no usable alternative are imputed from their neighbours (``adapt.impute_missing``) and flagged invalid.

Joint tables (documented in the README):

* ``smpl22`` / ``smpl24`` / ``smplh52``: SMPL order; the first 22 joints are the canonical body.
* ``kinect32``: Azure Kinect Body Tracking SDK joint order (k4abt_joint_id_t).
* ``mediapipe33``: MediaPipe Pose landmarks (world landmarks, metres, hip-centred).
* ``coco17``: COCO keypoints lifted to 3-D (no spine, no feet: those are imputed).
* ``cmu31``: the CMU mocap BVH skeleton (ASF conversion naming); ``cmu_max2009`` and ``cmu_daz43``: the two
  cgspeed conversions of the CMU data in ``../shared/data``.
* ``cmu_asf38``, ``bandai27``, ``hra15`` (upper body), ``humanoid3d15``: the other skeletons of ``../shared/data``.
* ``zed18`` / ``zed34`` / ``zed38``: Stereolabs ZED SDK ``BODY_18_PARTS`` / ``BODY_34_PARTS`` / ``BODY_38_PARTS``
  (order from stereolabs/zed-python-api ``sl_c.pxd``), z up as the ZED ROS 2 wrapper publishes them.
* ``nuitrack19``: Nuitrack ``JointType`` order (24 slots after JOINT_NONE, 19 distinct joints), converted to metres
  and the sensor's REP-103 frame (Nuitrack's own frame is left-handed).
* ``openpose25``: OpenPose ``POSE_BODY_25_BODY_PARTS`` (poseParameters.cpp) lifted to 3-D, camera optical frame.
* ``custom``: canonical joint names, any subset; BVH files from other tools map by name aliases (``BVH_ALIASES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

Alternative = dict[str, float]


@dataclass(frozen=True)
class SkeletonFormat:
    """A named joint set: its joint order and its mapping onto the canonical joints."""

    name: str
    joint_names: tuple[str, ...]
    mapping: dict[str, tuple[Alternative, ...]]
    default_up_axis: str = "z"
    description: str = ""


def _direct(**pairs: str) -> dict[str, tuple[Alternative, ...]]:
    return {canon: ({src: 1.0},) for canon, src in pairs.items()}


def _mid(a: str, b: str) -> Alternative:
    return {a: 0.5, b: 0.5}


def _lerp(a: str, b: str, t: float) -> Alternative:
    return {a: 1.0 - t, b: t}


SMPL_HAND_JOINTS: tuple[str, ...] = tuple(
    f"{side}_{finger}{k}"
    for side in ("left", "right")
    for finger in ("index", "middle", "pinky", "ring", "thumb")
    for k in (1, 2, 3)
)

_IDENTITY = {name: ({name: 1.0},) for name in CANONICAL_JOINTS}

SMPL22 = SkeletonFormat("smpl22", CANONICAL_JOINTS, _IDENTITY, "z", "22 SMPL body joints (the canonical body)")
SMPL24 = SkeletonFormat("smpl24", CANONICAL_JOINTS + ("left_hand", "right_hand"), _IDENTITY, "z", "SMPL 24 joints")
SMPLH52 = SkeletonFormat("smplh52", CANONICAL_JOINTS + SMPL_HAND_JOINTS, _IDENTITY, "z", "SMPL-H 52 joints")

KINECT32_JOINTS: tuple[str, ...] = (
    "PELVIS", "SPINE_NAVEL", "SPINE_CHEST", "NECK", "CLAVICLE_LEFT", "SHOULDER_LEFT", "ELBOW_LEFT", "WRIST_LEFT",
    "HAND_LEFT", "HANDTIP_LEFT", "THUMB_LEFT", "CLAVICLE_RIGHT", "SHOULDER_RIGHT", "ELBOW_RIGHT", "WRIST_RIGHT",
    "HAND_RIGHT", "HANDTIP_RIGHT", "THUMB_RIGHT", "HIP_LEFT", "KNEE_LEFT", "ANKLE_LEFT", "FOOT_LEFT", "HIP_RIGHT",
    "KNEE_RIGHT", "ANKLE_RIGHT", "FOOT_RIGHT", "HEAD", "NOSE", "EYE_LEFT", "EAR_LEFT", "EYE_RIGHT", "EAR_RIGHT",
)
KINECT32 = SkeletonFormat(
    "kinect32",
    KINECT32_JOINTS,
    {
        **_direct(
            pelvis="PELVIS", left_hip="HIP_LEFT", right_hip="HIP_RIGHT", left_knee="KNEE_LEFT",
            right_knee="KNEE_RIGHT", left_ankle="ANKLE_LEFT", right_ankle="ANKLE_RIGHT", left_foot="FOOT_LEFT",
            right_foot="FOOT_RIGHT", spine3="SPINE_CHEST", neck="NECK", left_collar="CLAVICLE_LEFT",
            right_collar="CLAVICLE_RIGHT", left_shoulder="SHOULDER_LEFT", right_shoulder="SHOULDER_RIGHT",
            left_elbow="ELBOW_LEFT", right_elbow="ELBOW_RIGHT", left_wrist="WRIST_LEFT", right_wrist="WRIST_RIGHT",
        ),
        "spine1": (_lerp("PELVIS", "SPINE_NAVEL", 0.6),),
        "spine2": (_lerp("SPINE_NAVEL", "SPINE_CHEST", 0.5),),
        "head": ({"HEAD": 1.0}, _mid("EAR_LEFT", "EAR_RIGHT")),
    },
    # The Azure Kinect ROS driver publishes bodies in the depth camera's optical frame: y down.
    "-y",
    "Azure Kinect Body Tracking, 32 joints",
)

MEDIAPIPE33_JOINTS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_SHOULDER_MID = _mid("left_shoulder", "right_shoulder")
_HIP_MID = _mid("left_hip", "right_hip")


def _torso(t: float) -> Alternative:
    """A point a fraction ``t`` of the way from the hip centre to the shoulder centre."""
    return {"left_hip": 0.5 * (1 - t), "right_hip": 0.5 * (1 - t), "left_shoulder": 0.5 * t, "right_shoulder": 0.5 * t}


# Landmark hips sit higher and wider than SMPL's hip joints; the mapping keeps them (retargeting fixes lengths).
_LANDMARK_BODY = {
    **_direct(
        left_hip="left_hip", right_hip="right_hip", left_knee="left_knee", right_knee="right_knee",
        left_ankle="left_ankle", right_ankle="right_ankle", left_shoulder="left_shoulder",
        right_shoulder="right_shoulder", left_elbow="left_elbow", right_elbow="right_elbow",
        left_wrist="left_wrist", right_wrist="right_wrist",
    ),
    "pelvis": (_HIP_MID,),
    "spine1": (_torso(0.2),),
    "spine2": (_torso(0.45),),
    "spine3": (_torso(0.7),),
    "neck": (_SHOULDER_MID,),
    "left_collar": ({"left_hip": 0.1, "right_hip": 0.1, "left_shoulder": 0.55, "right_shoulder": 0.25},),
    "right_collar": ({"left_hip": 0.1, "right_hip": 0.1, "left_shoulder": 0.25, "right_shoulder": 0.55},),
    "head": (_mid("left_ear", "right_ear"), {"nose": 1.0}),
}
MEDIAPIPE33 = SkeletonFormat(
    "mediapipe33",
    MEDIAPIPE33_JOINTS,
    {**_LANDMARK_BODY, **_direct(left_foot="left_foot_index", right_foot="right_foot_index")},
    # MediaPipe world landmarks follow image axes: x right, y down, z away from the camera.
    "-y",
    "MediaPipe Pose world landmarks, 33 points",
)

COCO17_JOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
COCO17 = SkeletonFormat("coco17", COCO17_JOINTS, dict(_LANDMARK_BODY), "z", "COCO-17 keypoints in 3-D")

CMU31_JOINTS: tuple[str, ...] = (
    "Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RHipJoint", "RightUpLeg", "RightLeg",
    "RightFoot", "RightToeBase", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head", "LeftShoulder", "LeftArm",
    "LeftForeArm", "LeftHand", "LeftFingerBase", "LeftHandIndex1", "LThumb", "RightShoulder", "RightArm",
    "RightForeArm", "RightHand", "RightFingerBase", "RightHandIndex1", "RThumb",
)

#: Name aliases of common BVH and mocap skeletons for each canonical joint (compared case-insensitively, after
#: stripping namespace prefixes such as "mixamorig:"): CMU ASF conversions, cgspeed's Max 2009 and DAZ
#: conversions of the CMU data, Mixamo, Kinect-style and canonical names. Order matters: first present wins.
BVH_ALIASES: dict[str, tuple[str, ...]] = {
    "pelvis": ("pelvis", "hips", "hip", "root"),
    "left_hip": ("left_hip", "leftupleg", "lthigh", "lefthip", "l_hip", "leftupperleg", "lefthipjoint"),
    "right_hip": ("right_hip", "rightupleg", "rthigh", "righthip", "r_hip", "rightupperleg", "righthipjoint"),
    "spine1": ("spine1", "lowerback", "abdomen", "spine"),
    "spine2": ("spine2", "chest"),
    "spine3": ("spine3", "chest2", "upperchest"),
    "neck": ("neck", "neck1", "lowerneck"),
    "head": ("head",),
    "left_collar": ("left_collar", "lcollar", "leftcollar", "leftshoulder_clavicle", "leftshoulder"),
    "right_collar": ("right_collar", "rcollar", "rightcollar", "rightshoulder_clavicle", "rightshoulder"),
    "left_shoulder": ("left_shoulder", "lshldr", "leftarm", "leftupperarm", "leftshoulder"),
    "right_shoulder": ("right_shoulder", "rshldr", "rightarm", "rightupperarm", "rightshoulder"),
    "left_elbow": ("left_elbow", "lforearm", "leftforearm", "leftelbow", "leftlowerarm"),
    "right_elbow": ("right_elbow", "rforearm", "rightforearm", "rightelbow", "rightlowerarm"),
    "left_wrist": ("left_wrist", "lhand", "lefthand", "leftwrist"),
    "right_wrist": ("right_wrist", "rhand", "righthand", "rightwrist"),
    "left_knee": ("left_knee", "lshin", "leftleg", "leftknee", "leftlowerleg"),
    "right_knee": ("right_knee", "rshin", "rightleg", "rightknee", "rightlowerleg"),
    "left_ankle": ("left_ankle", "lfoot", "leftfoot", "leftankle"),
    "right_ankle": ("right_ankle", "rfoot", "rightfoot", "rightankle"),
    "left_foot": ("left_foot", "lfoot_end", "lefttoebase", "lefttoe", "lefttoes", "leftfoot_end"),
    "right_foot": ("right_foot", "rfoot_end", "righttoebase", "righttoe", "righttoes", "rightfoot_end"),
}

CMU31 = SkeletonFormat(
    "cmu31",
    CMU31_JOINTS,
    {
        **_direct(
            pelvis="Hips", left_hip="LeftUpLeg", right_hip="RightUpLeg", left_knee="LeftLeg", right_knee="RightLeg",
            left_ankle="LeftFoot", right_ankle="RightFoot", left_foot="LeftToeBase", right_foot="RightToeBase",
            spine1="Spine", spine3="Spine1", neck="Neck1", head="Head", left_collar="LeftShoulder",
            right_collar="RightShoulder", left_shoulder="LeftArm", right_shoulder="RightArm",
            left_elbow="LeftForeArm", right_elbow="RightForeArm", left_wrist="LeftHand", right_wrist="RightHand",
        ),
        "spine2": (_mid("Spine", "Spine1"),),
    },
    "y",
    "CMU mocap BVH skeleton (ASF conversion, 31 joints, y up)",
)

#: cgspeed's "Max 2009" BVH conversion of the CMU data (31 joints, root "Hips"), as in ../shared/data.
CMU_MAX2009_JOINTS: tuple[str, ...] = (
    "Hips", "LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RHipJoint", "RightHip", "RightKnee",
    "RightAnkle", "RightToe", "lowerback", "Chest", "Chest2", "lowerneck", "Neck", "Head", "LeftCollar",
    "LeftShoulder", "LeftElbow", "LeftWrist", "lhand", "LFingers", "LThumb", "RightCollar", "RightShoulder",
    "RightElbow", "RightWrist", "rhand", "RFingers", "RThumb",
)
CMU_MAX2009 = SkeletonFormat(
    "cmu_max2009",
    CMU_MAX2009_JOINTS,
    _direct(
        pelvis="Hips", left_hip="LeftHip", right_hip="RightHip", left_knee="LeftKnee", right_knee="RightKnee",
        left_ankle="LeftAnkle", right_ankle="RightAnkle", left_foot="LeftToe", right_foot="RightToe",
        spine1="lowerback", spine2="Chest", spine3="Chest2", neck="Neck", head="Head", left_collar="LeftCollar",
        right_collar="RightCollar", left_shoulder="LeftShoulder", right_shoulder="RightShoulder",
        left_elbow="LeftElbow", right_elbow="RightElbow", left_wrist="LeftWrist", right_wrist="RightWrist",
    ),
    "y",
    "cgspeed Max 2009 BVH conversion of CMU mocap (31 joints)",
)

#: cgspeed's DAZ BVH conversion of the CMU data (43 joints, root "hip"); "lFoot_end" is the toe end site.
CMU_DAZ43_JOINTS: tuple[str, ...] = (
    "hip", "abdomen", "chest", "neck", "head", "leftEye", "rightEye", "rCollar", "rShldr", "rForeArm", "rHand",
    "rThumb1", "rThumb2", "rIndex1", "rIndex2", "rMid1", "rMid2", "rRing1", "rRing2", "rPinky1", "rPinky2",
    "lCollar", "lShldr", "lForeArm", "lHand", "lThumb1", "lThumb2", "lIndex1", "lIndex2", "lMid1", "lMid2",
    "lRing1", "lRing2", "lPinky1", "lPinky2", "rButtock", "rThigh", "rShin", "rFoot", "lButtock", "lThigh",
    "lShin", "lFoot",
)
CMU_DAZ43 = SkeletonFormat(
    "cmu_daz43",
    CMU_DAZ43_JOINTS + ("lFoot_end", "rFoot_end"),
    {
        **_direct(
            pelvis="hip", left_hip="lThigh", right_hip="rThigh", left_knee="lShin", right_knee="rShin",
            left_ankle="lFoot", right_ankle="rFoot", left_foot="lFoot_end", right_foot="rFoot_end",
            spine1="abdomen", spine3="chest", neck="neck", head="head", left_collar="lCollar",
            right_collar="rCollar", left_shoulder="lShldr", right_shoulder="rShldr", left_elbow="lForeArm",
            right_elbow="rForeArm", left_wrist="lHand", right_wrist="rHand",
        ),
        "spine2": (_mid("abdomen", "chest"),),
    },
    "y",
    "cgspeed DAZ BVH conversion of CMU mocap (43 joints)",
)

#: CMU BVH files converted with the ASF bone names kept (CMU 16_01/16_02 in ../shared/data), in ASF length units.
#: A joint named after a bone sits at that bone's start: ``lfemur`` is the hip, ``ltibia`` the knee.
CMU_ASF38_JOINTS: tuple[str, ...] = (
    "hip", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "ltoes_end", "rhipjoint", "rfemur", "rtibia", "rfoot",
    "rtoes", "rtoes_end", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "head_end",
    "lclavicle", "lhumerus", "lradius", "lwrist", "lhand", "lfingers", "lfingers_end", "lthumb", "lthumb_end",
    "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers", "rfingers_end", "rthumb", "rthumb_end",
)
CMU_ASF38 = SkeletonFormat(
    "cmu_asf38",
    CMU_ASF38_JOINTS,
    {
        **_direct(
            pelvis="hip", left_hip="lfemur", right_hip="rfemur", left_knee="ltibia", right_knee="rtibia",
            left_ankle="lfoot", right_ankle="rfoot", left_foot="ltoes", right_foot="rtoes", spine1="upperback",
            spine3="thorax", neck="upperneck", head="head", left_collar="lclavicle", right_collar="rclavicle",
            left_shoulder="lhumerus", right_shoulder="rhumerus", left_elbow="lradius", right_elbow="rradius",
            left_wrist="lwrist", right_wrist="rwrist",
        ),
        "spine2": (_mid("upperback", "thorax"),),
    },
    "y",
    "CMU BVH with ASF bone names (38 nodes incl. end sites)",
)

#: Bandai Namco Research Motiondataset 1/2 BVH skeleton (``_L`` is the actor's left; ``Head`` is the skull base).
BANDAI27_JOINTS: tuple[str, ...] = (
    "joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Head_end", "Shoulder_L", "UpperArm_L", "LowerArm_L",
    "Hand_L", "Hand_L_end", "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "Hand_R_end", "UpperLeg_L",
    "LowerLeg_L", "Foot_L", "Toes_L", "Toes_L_end", "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R", "Toes_R_end",
)
BANDAI27 = SkeletonFormat(
    "bandai27",
    BANDAI27_JOINTS,
    {
        **_direct(
            pelvis="Hips", left_hip="UpperLeg_L", right_hip="UpperLeg_R", left_knee="LowerLeg_L",
            right_knee="LowerLeg_R", left_ankle="Foot_L", right_ankle="Foot_R", left_foot="Toes_L",
            right_foot="Toes_R", spine1="Spine", spine3="Chest", neck="Neck", head="Head", left_collar="Shoulder_L",
            right_collar="Shoulder_R", left_shoulder="UpperArm_L", right_shoulder="UpperArm_R",
            left_elbow="LowerArm_L", right_elbow="LowerArm_R", left_wrist="Hand_L", right_wrist="Hand_R",
        ),
        "spine2": (_mid("Spine", "Chest"),),
    },
    "y",
    "Bandai Namco Research Motiondataset BVH (27 nodes incl. end sites)",
)

#: Vicon upper-body captures of human-robot-gym (12 joints + end sites, no legs). The ``head`` joint is not
#: anatomical (0.44 m above the neck, behind it), so it is not mapped: the head is imputed from the neck.
HRA15_JOINTS: tuple[str, ...] = (
    "hip", "torso", "neck", "head", "head_end", "left_collar", "left_upper_arm", "left_forearm", "left_hand",
    "left_hand_end", "right_collar", "right_upper_arm", "right_forearm", "right_hand", "right_hand_end",
)
HRA15 = SkeletonFormat(
    "hra15",
    HRA15_JOINTS,
    _direct(
        pelvis="hip", neck="neck", left_collar="left_collar", right_collar="right_collar",
        left_shoulder="left_upper_arm", right_shoulder="right_upper_arm", left_elbow="left_forearm",
        right_elbow="right_forearm", left_wrist="left_hand", right_wrist="right_hand",
    ),
    "y",
    "human-robot-gym Vicon upper body (no legs)",
)

#: DeepMimic's "humanoid3d" character (15 joints, no head, hands or toes; collars absent).
HUMANOID3D15_JOINTS: tuple[str, ...] = (
    "root", "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
    "right_wrist", "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist",
)
HUMANOID3D15 = SkeletonFormat(
    "humanoid3d15",
    HUMANOID3D15_JOINTS,
    {
        **_direct(
            pelvis="root", left_hip="left_hip", right_hip="right_hip", left_knee="left_knee",
            right_knee="right_knee", left_ankle="left_ankle", right_ankle="right_ankle", spine3="chest",
            neck="neck", left_shoulder="left_shoulder", right_shoulder="right_shoulder", left_elbow="left_elbow",
            right_elbow="right_elbow", left_wrist="left_wrist", right_wrist="right_wrist",
        ),
        "spine1": (_lerp("root", "chest", 0.35),),
        "spine2": (_lerp("root", "chest", 0.8),),
    },
    "y",
    "DeepMimic humanoid3d character (15 joints)",
)

# --- Body trackers' own skeletons (ZED, Nuitrack, OpenPose) -------------------------------------------------------
# Each joint order is the vendor's, copied from its enum; "left" is the tracked person's own left in all of them.


def _keypoint_torso(lh: str, rh: str, ls: str, rs: str) -> dict[str, tuple[Alternative, ...]]:
    """Pelvis, spine, neck and collars of a keypoint skeleton without spine joints, from its hip and shoulder
    keypoints: the same construction as ``_LANDMARK_BODY`` (MediaPipe, COCO), for other joint names."""

    def line(t: float) -> Alternative:
        return {lh: 0.5 * (1 - t), rh: 0.5 * (1 - t), ls: 0.5 * t, rs: 0.5 * t}

    return {
        "pelvis": (_mid(lh, rh),),
        "spine1": (line(0.2),),
        "spine2": (line(0.45),),
        "spine3": (line(0.7),),
        "neck": (_mid(ls, rs),),
        "left_collar": ({lh: 0.1, rh: 0.1, ls: 0.55, rs: 0.25},),
        "right_collar": ({lh: 0.1, rh: 0.1, ls: 0.25, rs: 0.55},),
    }


# The ZED ROS 2 wrapper (zed-ros2-wrapper) opens the camera with RIGHT_HANDED_Z_UP_X_FWD in metres and publishes
# body keypoints (zed_msgs/ObjectsStamped, skeleton_3d) in the left camera frame: REP-103 axes, z up (for a level
# camera). All three ZED formats therefore default to "z"; data from the SDK's own default frame (IMAGE: y down)
# needs up_axis "-y".
_ZED_LIMBS = dict(
    left_hip="LEFT_HIP", right_hip="RIGHT_HIP", left_knee="LEFT_KNEE", right_knee="RIGHT_KNEE",
    left_ankle="LEFT_ANKLE", right_ankle="RIGHT_ANKLE", left_shoulder="LEFT_SHOULDER",
    right_shoulder="RIGHT_SHOULDER", left_elbow="LEFT_ELBOW", right_elbow="RIGHT_ELBOW", left_wrist="LEFT_WRIST",
    right_wrist="RIGHT_WRIST",
)

#: Stereolabs ZED SDK ``sl::BODY_18_PARTS`` (the COCO-18 order: COCO-17 plus a neck), as declared in
#: stereolabs/zed-python-api ``src/pyzed/sl_c.pxd``.
ZED18_JOINTS: tuple[str, ...] = (
    "NOSE", "NECK", "RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST", "LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_WRIST",
    "RIGHT_HIP", "RIGHT_KNEE", "RIGHT_ANKLE", "LEFT_HIP", "LEFT_KNEE", "LEFT_ANKLE", "RIGHT_EYE", "LEFT_EYE",
    "RIGHT_EAR", "LEFT_EAR",
)
ZED18 = SkeletonFormat(
    "zed18",
    ZED18_JOINTS,
    {
        **_direct(**_ZED_LIMBS),
        **_keypoint_torso("LEFT_HIP", "RIGHT_HIP", "LEFT_SHOULDER", "RIGHT_SHOULDER"),
        "neck": ({"NECK": 1.0}, _mid("LEFT_SHOULDER", "RIGHT_SHOULDER")),
        "head": (_mid("LEFT_EAR", "RIGHT_EAR"), {"NOSE": 1.0}),
    },
    "z",  # ZED ROS 2 wrapper: REP-103 camera frame (see above)
    "Stereolabs ZED SDK BODY_18 keypoints (no spine, no feet: those are imputed)",
)

#: Stereolabs ZED SDK ``sl::BODY_34_PARTS`` (stereolabs/zed-python-api ``src/pyzed/sl_c.pxd``).
ZED34_JOINTS: tuple[str, ...] = (
    "PELVIS", "NAVAL_SPINE", "CHEST_SPINE", "NECK", "LEFT_CLAVICLE", "LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_WRIST",
    "LEFT_HAND", "LEFT_HANDTIP", "LEFT_THUMB", "RIGHT_CLAVICLE", "RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST",
    "RIGHT_HAND", "RIGHT_HANDTIP", "RIGHT_THUMB", "LEFT_HIP", "LEFT_KNEE", "LEFT_ANKLE", "LEFT_FOOT", "RIGHT_HIP",
    "RIGHT_KNEE", "RIGHT_ANKLE", "RIGHT_FOOT", "HEAD", "NOSE", "LEFT_EYE", "LEFT_EAR", "RIGHT_EYE", "RIGHT_EAR",
    "LEFT_HEEL", "RIGHT_HEEL",
)
ZED34 = SkeletonFormat(
    "zed34",
    ZED34_JOINTS,
    {
        **_direct(
            **_ZED_LIMBS, pelvis="PELVIS", left_foot="LEFT_FOOT", right_foot="RIGHT_FOOT", spine3="CHEST_SPINE",
            neck="NECK", left_collar="LEFT_CLAVICLE", right_collar="RIGHT_CLAVICLE",
        ),
        # The same spine construction as kinect32 (whose layout BODY_34 follows).
        "spine1": (_lerp("PELVIS", "NAVAL_SPINE", 0.6),),
        "spine2": (_lerp("NAVAL_SPINE", "CHEST_SPINE", 0.5),),
        "head": ({"HEAD": 1.0}, _mid("LEFT_EAR", "RIGHT_EAR")),
    },
    "z",  # ZED ROS 2 wrapper: REP-103 camera frame (see above)
    "Stereolabs ZED SDK BODY_34 keypoints",
)

#: Stereolabs ZED SDK ``sl::BODY_38_PARTS`` (stereolabs/zed-python-api ``src/pyzed/sl_c.pxd``).
ZED38_JOINTS: tuple[str, ...] = (
    "PELVIS", "SPINE_1", "SPINE_2", "SPINE_3", "NECK", "NOSE", "LEFT_EYE", "RIGHT_EYE", "LEFT_EAR", "RIGHT_EAR",
    "LEFT_CLAVICLE", "RIGHT_CLAVICLE", "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST",
    "RIGHT_WRIST", "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_BIG_TOE",
    "RIGHT_BIG_TOE", "LEFT_SMALL_TOE", "RIGHT_SMALL_TOE", "LEFT_HEEL", "RIGHT_HEEL", "LEFT_HAND_THUMB_4",
    "RIGHT_HAND_THUMB_4", "LEFT_HAND_INDEX_1", "RIGHT_HAND_INDEX_1", "LEFT_HAND_MIDDLE_4", "RIGHT_HAND_MIDDLE_4",
    "LEFT_HAND_PINKY_1", "RIGHT_HAND_PINKY_1",
)
ZED38 = SkeletonFormat(
    "zed38",
    ZED38_JOINTS,
    {
        **_direct(
            **_ZED_LIMBS, pelvis="PELVIS", spine1="SPINE_1", spine2="SPINE_2", spine3="SPINE_3", neck="NECK",
            left_collar="LEFT_CLAVICLE", right_collar="RIGHT_CLAVICLE",
        ),
        "head": (_mid("LEFT_EAR", "RIGHT_EAR"), {"NOSE": 1.0}),
        "left_foot": (_mid("LEFT_BIG_TOE", "LEFT_SMALL_TOE"), {"LEFT_BIG_TOE": 1.0}),
        "right_foot": (_mid("RIGHT_BIG_TOE", "RIGHT_SMALL_TOE"), {"RIGHT_BIG_TOE": 1.0}),
    },
    "z",  # ZED ROS 2 wrapper: REP-103 camera frame (see above)
    "Stereolabs ZED SDK BODY_38 keypoints",
)

#: Nuitrack ``tdv::nuitrack::JointType`` (nuitrack/types/Skeleton.h) in enum order, JOINT_HEAD (1) to
#: JOINT_RIGHT_FOOT (24): position i holds JointType i + 1, so a bridge copies ``skeleton.joints[1:]`` (the
#: reserved JOINT_NONE = 0 is left out). The SDK marks the fingertips and feet "not used in the current version"
#: (they stay unmapped and are imputed), and its Unity sample notes that the two collars sit at the same point:
#: the 19 distinct joints Nuitrack advertises.
NUITRACK19_JOINTS: tuple[str, ...] = (
    "JOINT_HEAD", "JOINT_NECK", "JOINT_TORSO", "JOINT_WAIST", "JOINT_LEFT_COLLAR", "JOINT_LEFT_SHOULDER",
    "JOINT_LEFT_ELBOW", "JOINT_LEFT_WRIST", "JOINT_LEFT_HAND", "JOINT_LEFT_FINGERTIP", "JOINT_RIGHT_COLLAR",
    "JOINT_RIGHT_SHOULDER", "JOINT_RIGHT_ELBOW", "JOINT_RIGHT_WRIST", "JOINT_RIGHT_HAND", "JOINT_RIGHT_FINGERTIP",
    "JOINT_LEFT_HIP", "JOINT_LEFT_KNEE", "JOINT_LEFT_ANKLE", "JOINT_LEFT_FOOT", "JOINT_RIGHT_HIP", "JOINT_RIGHT_KNEE",
    "JOINT_RIGHT_ANKLE", "JOINT_RIGHT_FOOT",
)
NUITRACK19 = SkeletonFormat(
    "nuitrack19",
    NUITRACK19_JOINTS,
    {
        **_direct(
            left_hip="JOINT_LEFT_HIP", right_hip="JOINT_RIGHT_HIP", left_knee="JOINT_LEFT_KNEE",
            right_knee="JOINT_RIGHT_KNEE", left_ankle="JOINT_LEFT_ANKLE", right_ankle="JOINT_RIGHT_ANKLE",
            left_shoulder="JOINT_LEFT_SHOULDER", right_shoulder="JOINT_RIGHT_SHOULDER", left_elbow="JOINT_LEFT_ELBOW",
            right_elbow="JOINT_RIGHT_ELBOW", left_wrist="JOINT_LEFT_WRIST", right_wrist="JOINT_RIGHT_WRIST",
            spine2="JOINT_TORSO", neck="JOINT_NECK", head="JOINT_HEAD",
        ),
        # JOINT_WAIST is the root the hips hang from; JOINT_TORSO mid-spine; the collar point tops the spine
        # where the shoulders attach (SMPL's collars sit beside it, towards the shoulders).
        "pelvis": ({"JOINT_WAIST": 1.0}, _mid("JOINT_LEFT_HIP", "JOINT_RIGHT_HIP")),
        "spine1": (_lerp("JOINT_WAIST", "JOINT_TORSO", 0.45),),
        "spine3": (_lerp("JOINT_TORSO", "JOINT_LEFT_COLLAR", 0.25), _lerp("JOINT_TORSO", "JOINT_RIGHT_COLLAR", 0.25)),
        "left_collar": (_lerp("JOINT_LEFT_COLLAR", "JOINT_LEFT_SHOULDER", 0.45),
                        _lerp("JOINT_RIGHT_COLLAR", "JOINT_LEFT_SHOULDER", 0.45)),
        "right_collar": (_lerp("JOINT_RIGHT_COLLAR", "JOINT_RIGHT_SHOULDER", 0.45),
                         _lerp("JOINT_LEFT_COLLAR", "JOINT_RIGHT_SHOULDER", 0.45)),
    },
    # Nuitrack itself reports Joint.real in millimetres with x to the sensor's right, y up and z away from it: a
    # left-handed frame, which no proper rotation (the up axes here) can turn into a right-handed one without
    # swapping the person's sides. There is no Nuitrack ROS 2 driver from the vendor; the ROS driver
    # nuitrack_body_tracker converts Nuitrack points to the sensor's REP-103 frame (x = z, y = -x, z = y, metres),
    # and a bridge must do the same, so the default is "z".
    "z",
    "Nuitrack skeleton (JointType order, 24 slots, 19 distinct joints; convert to metres, REP-103 axes)",
)

#: OpenPose ``POSE_BODY_25_BODY_PARTS`` (CMU-Perceptual-Computing-Lab/openpose
#: src/openpose/pose/poseParameters.cpp) without the trailing "Background" map, lifted to 3-D.
OPENPOSE25_JOINTS: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip", "RKnee",
    "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
    "RSmallToe", "RHeel",
)
OPENPOSE25 = SkeletonFormat(
    "openpose25",
    OPENPOSE25_JOINTS,
    {
        **_direct(
            left_hip="LHip", right_hip="RHip", left_knee="LKnee", right_knee="RKnee", left_ankle="LAnkle",
            right_ankle="RAnkle", left_shoulder="LShoulder", right_shoulder="RShoulder", left_elbow="LElbow",
            right_elbow="RElbow", left_wrist="LWrist", right_wrist="RWrist",
        ),
        **_keypoint_torso("LHip", "RHip", "LShoulder", "RShoulder"),
        "pelvis": ({"MidHip": 1.0}, _mid("LHip", "RHip")),
        "neck": ({"Neck": 1.0}, _mid("LShoulder", "RShoulder")),
        "head": (_mid("LEar", "REar"), {"Nose": 1.0}),
        "left_foot": (_mid("LBigToe", "LSmallToe"), {"LBigToe": 1.0}),
        "right_foot": (_mid("RBigToe", "RSmallToe"), {"RBigToe": 1.0}),
    },
    # OpenPose detects in 2-D; its 3-D output and the ROS wrappers that lift keypoints with a depth image
    # (ros_openpose: x = (u - cx) z / fx, y = (v - cy) z / fy) give camera optical coordinates: y down.
    "-y",
    "OpenPose BODY_25 keypoints lifted to 3-D (camera optical frame)",
)

FORMATS: dict[str, SkeletonFormat] = {
    f.name: f for f in (SMPL22, SMPL24, SMPLH52, KINECT32, MEDIAPIPE33, COCO17, CMU31, CMU_MAX2009, CMU_DAZ43,
                        CMU_ASF38, BANDAI27, HRA15, HUMANOID3D15, ZED18, ZED34, ZED38, NUITRACK19, OPENPOSE25)
}


def get_format(name: str) -> SkeletonFormat:
    """The format called ``name``; unknown names raise ValueError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton format {name!r}; known: {', '.join(sorted(FORMATS))}, custom") from None


def alias_mapping() -> dict[str, tuple[Alternative, ...]]:
    """Mapping by name aliases (canonical names and common BVH names), used for ``custom`` and BVH skeletons."""
    return {canon: tuple({alias: 1.0} for alias in aliases) for canon, aliases in BVH_ALIASES.items()}
